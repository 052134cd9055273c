import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formOf, redirect, sendPage, type DashboardContext } from '../context.ts';
import { newCsrfToken, SIGN_IN_CSRF_COOKIE } from '../csrf.ts';
import { DEVICE_COOKIE, DEVICE_TTL_MS } from '../devices.ts';
import { cameOverHttps } from '../../request-origin.ts';
import { parseCookies, serializeCookie, SESSION_COOKIE, SESSION_TTL_MS } from '../session.ts';
import type { SignInRefusal } from '../sign-in-limiter.ts';
import { signInView } from '../views/sign-in.ts';

/** Only places inside the dashboard: never another site, never `//host`. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/dashboard\/(?!\/)[^\\\s]*$/.test(next) && !next.startsWith('/dashboard/sign-') ? next : '/dashboard/tools';
}

const SIGN_IN_CSRF_MAX_AGE = 60 * 60;

/** `45 seconds`, `15 minutes`: how long a refused sign-in must wait, as a person reads it. */
function waitText(seconds: number): string {
  if (seconds < 120) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

function refusalMessage(refusal: SignInRefusal): string {
  const wait = `Wait ${waitText(refusal.retryAfterSeconds)}, then try again.`;
  if (refusal.limit === 'device') return `Too many failed sign-ins from this browser. ${wait}`;
  const where = refusal.limit === 'address' ? 'from your address' : 'to this account';
  return `Too many failed sign-ins ${where}. ${wait} A browser that has signed in to this account before is not affected: it can sign in now.`;
}

export function signInRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { accounts, devices, sessions, signInLimiter } = context.services;

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
    const account = username !== '' && (await accounts.exists(username)) ? username : undefined;
    const device = account === undefined ? undefined : await devices.find(parseCookies(request.headers.cookie).get(DEVICE_COOKIE), account);
    const attempt = { address: request.ip, account, device };
    const refusal = await signInLimiter.admit(attempt);
    if (refusal) {
      request.log.warn({ ip: request.ip, limit: refusal.limit, retryAfter: refusal.retryAfterSeconds }, 'dashboard sign-in refused: too many failures');
      reply.header('retry-after', String(refusal.retryAfterSeconds));
      return showForm(request, reply, { status: 429, username, next, error: refusalMessage(refusal) });
    }
    // Unknown names are checked too (against a decoy hash): they take as long as a wrong password.
    if (username === '' || password === '' || !(await accounts.verify(username, password))) {
      request.log.warn({ ip: request.ip, username }, 'dashboard sign-in failed');
      return showForm(request, reply, { status: 401, username, next, error: 'The user name or the password is wrong.' });
    }
    await signInLimiter.succeeded(attempt);
    if (request.dashboardSession) await sessions.destroy(request.dashboardSession);
    const { id } = await sessions.create(username);
    const deviceId = await devices.issue(username, device);
    const secure = cameOverHttps(request);
    reply.header('set-cookie', [
      serializeCookie(SESSION_COOKIE, id, { maxAge: Math.floor(SESSION_TTL_MS / 1000), secure }),
      serializeCookie(SIGN_IN_CSRF_COOKIE, '', { maxAge: 0, secure, path: '/dashboard/sign-in' }),
      serializeCookie(DEVICE_COOKIE, deviceId, { maxAge: Math.floor(DEVICE_TTL_MS / 1000), secure, path: '/dashboard/sign-in' }),
    ]);
    request.log.info({ username, trustedDevice: device !== undefined }, 'dashboard sign-in');
    return redirect(reply, next);
  });

  app.post('/sign-out', async (request, reply) => {
    if (request.dashboardSession) await sessions.destroy(request.dashboardSession);
    reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { maxAge: 0, secure: cameOverHttps(request) }));
    return redirect(reply, '/dashboard/sign-in?signed_out');
  });
}
