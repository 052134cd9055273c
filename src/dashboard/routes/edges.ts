import type { FastifyInstance } from 'fastify';
import { isPictorError } from '../../errors.ts';
import { edgeKind } from '../../edges/kinds.ts';
import { formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { edgesView } from '../views/edges.ts';

/** The Edges page: the same registry and rules as /api/v1/edges and `pictor edges` (edges/edge-service.ts). */
export function edgesRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { edges } = context.services;

  app.get('/edges', async (request, reply) => {
    const session = sessionOf(request);
    const flash = context.flash.take(session);
    const body = edgesView({ csrfToken: session.csrfToken, edges: await edges.list() });
    return sendPage(context, request, reply, { title: 'Edges', current: 'edges', notice: flash.notice, body });
  });

  app.post('/edges', async (request, reply) => {
    const session = sessionOf(request);
    const form = formOf(request);
    const kind = form.get('kind') ?? '';
    const spec = edgeKind(kind);
    // Only the fields of the kind's form, and none left empty: the service refuses what a kind does not take.
    const fields = ['name', ...(spec?.addressed ? ['url'] : []), ...Object.keys(spec?.settings ?? {}), ...Object.keys(spec?.secrets ?? {})];
    const attributes: Record<string, unknown> = { kind };
    for (const field of fields) {
      const value = (form.get(field) ?? '').trim();
      if (value !== '') attributes[field] = spec?.settings[field]?.flag === true ? value === 'true' : value;
    }
    try {
      const edge = await edges.add(attributes);
      request.log.info({ edge: edge.name, kind: edge.kind, by: session.username }, 'edge added in the dashboard');
      context.flash.set(session, { notice: `The ${edge.kind} edge “${edge.name}” is added, in rotation.` });
      return redirect(reply, '/dashboard/edges');
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      // What was typed goes back into the form, except the secrets: they are never written into a page.
      const typed = Object.entries(attributes).filter(([field]) => !(field in (spec?.secrets ?? {})));
      const values = Object.fromEntries(typed.map(([field, value]) => [field, String(value)]));
      const field = error.pointer?.split('/').at(-1);
      return sendPage(context, request, reply, {
        title: 'Edges',
        current: 'edges',
        status: error.status,
        body: edgesView({
          csrfToken: session.csrfToken,
          edges: await edges.list(),
          form: { kind, values, error: error.message, field: field && fields.includes(field) ? field : undefined },
        }),
      });
    }
  });

  app.post<{ Params: { name: string } }>('/edges/:name/remove', async (request, reply) => {
    const session = sessionOf(request);
    await edges.remove(request.params.name);
    request.log.info({ edge: request.params.name, by: session.username }, 'edge removed in the dashboard');
    context.flash.set(session, { notice: `The edge “${request.params.name}” is removed: purges no longer reach it.` });
    return redirect(reply, '/dashboard/edges');
  });
}
