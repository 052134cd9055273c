import type { FastifyInstance } from 'fastify';
import type { Permission } from '../../auth/api-keys.ts';
import { PictorError } from '../../errors.ts';
import { formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { keysView, OFFERED_PERMISSIONS, revokeView } from '../views/keys.ts';

export function keysRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { keys } = context.services;

  app.get('/keys', async (request, reply) => {
    const session = sessionOf(request);
    const flash = context.flash.take(session);
    return sendPage(context, request, reply, {
      title: 'API keys',
      current: 'keys',
      notice: flash.notice,
      body: keysView({ csrfToken: session.csrfToken, keys: await keys.list(), newKey: flash.newKey }),
    });
  });

  app.post('/keys', async (request, reply) => {
    const session = sessionOf(request);
    const form = formOf(request);
    const name = (form.get('name') ?? '').trim();
    const permissions = form.getAll('permissions');
    const errors: Record<string, string> = {};
    if (name === '') errors.name = 'Give the key a name.';
    else if (name.length > 200) errors.name = 'Keep the name under 200 characters.';
    if (permissions.length === 0) errors.permissions = 'Choose at least one permission.';
    const unknown = permissions.filter((permission) => !OFFERED_PERMISSIONS.some((offered) => offered.permission === permission));
    if (unknown.length > 0) errors.permissions = `Choose among the permissions listed (got ${unknown.map((permission) => `"${permission}"`).join(', ')}).`;
    if (Object.keys(errors).length > 0) {
      return sendPage(context, request, reply, {
        title: 'API keys',
        current: 'keys',
        status: 400,
        body: keysView({ csrfToken: session.csrfToken, keys: await keys.list(), form: { name, permissions, errors } }),
      });
    }
    const { key, record } = await keys.create(name, [...new Set(permissions)] as Permission[]);
    request.log.info({ key: record.id, permissions: record.permissions, by: session.username }, 'API key created in the dashboard');
    context.flash.set(session, { newKey: { id: record.id, name: record.name, key } });
    return redirect(reply, '/dashboard/keys');
  });

  app.get<{ Params: { id: string } }>('/keys/:id/revoke', async (request, reply) => {
    const key = (await keys.list()).find((candidate) => candidate.id === request.params.id);
    if (!key) throw new PictorError('NOT_FOUND', `No API key has the id "${request.params.id}".`);
    if (key.revokedAt) {
      context.flash.set(sessionOf(request), { notice: `The key “${key.name}” is already revoked.` });
      return redirect(reply, '/dashboard/keys');
    }
    return sendPage(context, request, reply, { title: 'Revoke API key', current: 'keys', body: revokeView(sessionOf(request).csrfToken, key) });
  });

  app.post<{ Params: { id: string } }>('/keys/:id/revoke', async (request, reply) => {
    const session = sessionOf(request);
    const key = (await keys.list()).find((candidate) => candidate.id === request.params.id);
    if (!key) throw new PictorError('NOT_FOUND', `No API key has the id "${request.params.id}".`);
    const revoked = await keys.revoke(key.id);
    if (revoked) request.log.info({ key: key.id, by: session.username }, 'API key revoked in the dashboard');
    context.flash.set(session, { notice: revoked ? `The key “${key.name}” is revoked.` : `The key “${key.name}” was already revoked.` });
    return redirect(reply, '/dashboard/keys');
  });
}
