import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPictorError } from '../../errors.ts';
import { actor, formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { confirmTakedownView, liftTakedownView, type TakedownForm } from '../views/takedowns.ts';

/** Form fields named by the takedown's error pointers. */
const POINTER_FIELDS: Record<string, string> = { '/data/attributes/url': 'url', '/data/attributes/reason': 'reason' };

/**
 * Tools → Takedown: `POST /tools/takedown` shows a confirmation page first (nothing is recorded), and records
 * the takedown only when sent again from it (`confirm=yes`); lifting goes through a confirmation page too.
 * Both record `user:<name>` in the audit trail.
 */
export function takedownsRoutes(
  app: FastifyInstance,
  context: DashboardContext,
  /** The Tools page (status 400) with the takedown form as sent and its errors. */
  toolsPage: (request: FastifyRequest, reply: FastifyReply, form: TakedownForm) => Promise<FastifyReply>,
): void {
  const { takedowns, sources } = context.services;

  app.post('/tools/takedown', async (request, reply) => {
    const form = formOf(request);
    const values: TakedownForm = { url: form.get('takedown_url') ?? '', reason: form.get('reason') ?? '', errors: {} };
    try {
      const checked = takedowns.validate(values);
      if (form.get('confirm') !== 'yes') {
        const sourceName = (await sources.get(checked.sourceId))?.name ?? checked.sourceId;
        return sendPage(context, request, reply, {
          title: 'Take down an asset',
          current: 'tools',
          body: confirmTakedownView(sessionOf(request).csrfToken, { url: checked.url, reason: checked.reason, sourceName, path: checked.path }),
        });
      }
      const { record } = await takedowns.create({ url: checked.url, reason: checked.reason, actor: actor(request) });
      request.log.info({ takedown: record.id, url: record.url, by: actor(request) }, 'asset taken down in the dashboard');
      context.flash.set(sessionOf(request), { notice: `${record.url} is taken down: it answers 451 until the takedown is lifted.` });
      return redirect(reply, '/dashboard/tools#takedown');
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      const field = error.pointer === undefined ? undefined : POINTER_FIELDS[error.pointer];
      if (field) values.errors[field] = error.message;
      else values.formError = error.message;
    }
    return toolsPage(request, reply, values);
  });

  app.get<{ Params: { id: string } }>('/tools/takedowns/:id/lift', async (request, reply) => {
    const { record } = await takedowns.get(request.params.id);
    if (record.liftedAt !== null) {
      context.flash.set(sessionOf(request), { notice: `The takedown of ${record.url} is already lifted.` });
      return redirect(reply, '/dashboard/tools#takedown');
    }
    return sendPage(context, request, reply, { title: 'Lift takedown', current: 'tools', body: liftTakedownView(sessionOf(request).csrfToken, record) });
  });

  app.post<{ Params: { id: string } }>('/tools/takedowns/:id/lift', async (request, reply) => {
    const reason = formOf(request).get('reason') ?? '';
    try {
      const { record, lifted } = await takedowns.lift(request.params.id, { actor: actor(request), reason });
      if (lifted) request.log.info({ takedown: record.id, by: actor(request) }, 'takedown lifted in the dashboard');
      const notice = lifted ? `The takedown of ${record.url} is lifted: it is served again.` : `The takedown of ${record.url} was already lifted.`;
      context.flash.set(sessionOf(request), { notice });
      return redirect(reply, '/dashboard/tools#takedown');
    } catch (error) {
      if (!isPictorError(error) || error.code !== 'BAD_REQUEST') throw error;
      const { record } = await takedowns.get(request.params.id);
      return sendPage(context, request, reply, {
        title: 'Lift takedown',
        current: 'tools',
        status: 400,
        body: liftTakedownView(sessionOf(request).csrfToken, record, error.message),
      });
    }
  });
}
