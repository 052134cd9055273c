import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formOf, redirect, sendPage, type DashboardContext } from '../context.ts';
import { newCsrfToken, SIGN_IN_CSRF_COOKIE } from '../csrf.ts';
import { cameOverHttps, serializeCookie, SESSION_COOKIE, SESSION_TTL_MS } from '../session.ts';
import { signInView } from '../views/sign-in.ts';

/** Only places inside the dashboard: never another site, never `//host`. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/dashboard\/(?!\/)[^\\\s]*$/.test(next) && !next.startsWith('/dashboard/sign-') ? next : '/dashboard/tools';
}

const SIGN_IN_CSRF_MAX_AGE = 60 * 60;

export function signInRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { accounts, sessions, signInLimiter } = context.services;

  const showForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    options: { status?: number; error?: string; notice?: string; username?: string; next: string },
  ): FastifyReply => {
    const token = newCsrfToken();
    reply.header(
      'set-cookie',
      serializeCookie(SIGN_IN_CSRF_COOKIE, token, { maxAge: SIGN_IN_CSRF_MAX_AGE, secure: cameOverHttps(request), path: '/dashboard/sign-in' }),
    );
    return sendPage(context, request, reply, {
      title: 'Sign in',
      status: options.status,
      notice: options.notice,
      body: signInView({ csrfToken: token, error: options.error, username: options.username, next: options.next }),
    });
  };

  app.get('/sign-in', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const next = safeNext(query.next);
    if (request.dashboardSession) return redirect(reply, next);
    return showForm(request, reply, { next, notice: query.signed_out !== undefined ? 'You are signed out.' : undefined });
  });

  app.post('/sign-in', async (request, reply) => {
    const form = formOf(request);
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const next = safeNext(form.get('next'));
    const wait = signInLimiter.take(request.ip);
    if (wait > 0) {
      request.log.warn({ ip: request.ip }, 'dashboard sign-in rate limited');
      reply.header('retry-after', String(wait));
      return showForm(request, reply, {
        status: 429,
        username,
        next,
        error: `Too many sign-in attempts from your address. Wait ${wait} second${wait === 1 ? '' : 's'}, then try again.`,
      });
    }
    if (username === '' || password === '' || !(await accounts.verify(username, password))) {
      request.log.warn({ ip: request.ip, username }, 'dashboard sign-in failed');
      return showForm(request, reply, { status: 401, username, next, error: 'The user name or the password is wrong.' });
    }
    if (request.dashboardSession) sessions.destroy(request.dashboardSession);
    const { id } = sessions.create(username);
    const secure = cameOverHttps(request);
    reply.header('set-cookie', [
      serializeCookie(SESSION_COOKIE, id, { maxAge: Math.floor(SESSION_TTL_MS / 1000), secure }),
      serializeCookie(SIGN_IN_CSRF_COOKIE, '', { maxAge: 0, secure, path: '/dashboard/sign-in' }),
    ]);
    request.log.info({ username }, 'dashboard sign-in');
    return redirect(reply, next);
  });

  app.post('/sign-out', async (request, reply) => {
    if (request.dashboardSession) sessions.destroy(request.dashboardSession);
    reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { maxAge: 0, secure: cameOverHttps(request) }));
    return redirect(reply, '/dashboard/sign-in?signed_out');
  });
}
