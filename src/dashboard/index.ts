import type { FastifyInstance, FastifyRequest } from 'fastify';
import { failureLevel, toPictorError } from '../failures.ts';
import { loadAssets } from './assets.ts';
import { FlashStore, sendPage, type DashboardContext, type DashboardServices } from './context.ts';
import { CSRF_FIELD, csrfMatches, SIGN_IN_CSRF_COOKIE } from './csrf.ts';
import { html } from './html.ts';
import { directRenderOrigin } from './preview-url.ts';
import { assetsRoutes } from './routes/assets.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { edgesRoutes } from './routes/edges.ts';
import { keysRoutes } from './routes/keys.ts';
import { previewRoutes } from './routes/preview.ts';
import { purgesRoutes } from './routes/purges.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { sourcesRoutes } from './routes/sources.ts';
import { toolsRoutes } from './routes/tools.ts';
import { webhooksRoutes } from './routes/webhooks.ts';
import { parseCookies, SESSION_COOKIE } from './session.ts';

export type { DashboardServices } from './context.ts';

const FORM_BODY_LIMIT = 256 * 1024;
/** Reachable without a session. */
const PUBLIC_PATHS = ['/dashboard/sign-in', '/dashboard/assets/'];

/**
 * The web dashboard, mounted under `/dashboard/` on the admin listener: server-rendered pages over the same
 * services as the JSON:API (keys, purges, Sources), behind a session (scrypt-hashed password, SQLite
 * sessions, CSRF tokens on every form, sign-in slowed by failures except in trusted browsers) and a strict
 * Content-Security-Policy.
 */
export function registerDashboard(app: FastifyInstance, services: DashboardServices): void {
  app.get('/', async (_request, reply) => reply.status(303).header('location', '/dashboard/').send());
  void app.register(
    async (dashboard) => {
      const assets = loadAssets();
      const context: DashboardContext = {
        services,
        assets: { css: assets.get('dashboard.css')!.url, js: assets.get('dashboard.js')!.url, icon: assets.get('favicon.svg')!.url },
        flash: new FlashStore(),
      };

      // Forms arrive URL-encoded; keep repeated fields (checkbox groups) as they are.
      dashboard.removeContentTypeParser('application/x-www-form-urlencoded');
      dashboard.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) =>
        done(null, new URLSearchParams(String(body))),
      );

      dashboard.addHook('onRequest', async (request, reply) => {
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'same-origin');
        reply.header('x-frame-options', 'DENY');
        reply.header('content-security-policy', contentSecurityPolicy(services, request));
        const path = request.url.split('?')[0]!;
        if (!path.startsWith('/dashboard/assets/')) reply.header('cache-control', 'no-store');
        const session = await services.sessions.find(parseCookies(request.headers.cookie).get(SESSION_COOKIE));
        if (session) request.dashboardSession = session;
        if (session || PUBLIC_PATHS.some((prefix) => path.startsWith(prefix))) return;
        if (wantsJson(request)) return reply.status(401).send({ error: 'Your session has ended; sign in again.' });
        const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
        return reply.status(303).header('location', `/dashboard/sign-in${next}`).send();
      });

      // Every form post carries the session's CSRF token (the sign-in form: a double-submit cookie).
      dashboard.addHook('preHandler', async (request, reply) => {
        if (request.method !== 'POST') return;
        const given = request.body instanceof URLSearchParams ? request.body.get(CSRF_FIELD) : undefined;
        const signIn = request.url.split('?')[0] === '/dashboard/sign-in';
        const expected = signIn ? parseCookies(request.headers.cookie).get(SIGN_IN_CSRF_COOKIE) : request.dashboardSession?.csrfToken;
        if (csrfMatches(expected, given)) return;
        request.log.warn({ url: request.url }, 'dashboard form refused: CSRF token missing or wrong');
        return sendPage(context, request, reply, {
          title: 'Form expired',
          status: 403,
          body: html`<p>This form was not sent from the current dashboard page (it expired, or came from another site), so nothing was changed.</p>
            <p><a href="${request.dashboardSession ? '/dashboard/tools' : '/dashboard/sign-in'}">Go back</a>, reload the page and try again.</p>`,
        });
      });

      dashboard.setErrorHandler(async (error, request, reply) => {
        const pictorError = toPictorError(error);
        const level = failureLevel(pictorError);
        if (level) request.log[level]({ err: error }, 'dashboard request failed');
        if (wantsJson(request)) return reply.status(pictorError.status).send({ error: pictorError.message });
        return sendPage(context, request, reply, {
          title: pictorError.status >= 500 ? 'Something went wrong' : pictorError.title,
          status: pictorError.status,
          body: html`<p>${pictorError.message}</p><p><a href="/dashboard/">Back to the dashboard</a></p>`,
        });
      });
      dashboard.setNotFoundHandler(async (request, reply) =>
        sendPage(context, request, reply, {
          title: 'Page not found',
          status: 404,
          body: html`<p>There is no page at <code>${request.url.split('?')[0]}</code>.</p><p><a href="/dashboard/">Back to the dashboard</a></p>`,
        }),
      );

      dashboard.get('/assets/:name', async (request, reply) => {
        const asset = assets.get((request.params as { name: string }).name);
        if (!asset) return reply.callNotFound();
        return reply.type(asset.contentType).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body);
      });
      dashboard.get('/', async (_request, reply) => reply.status(303).header('location', '/dashboard/tools').send());

      signInRoutes(dashboard, context);
      toolsRoutes(dashboard, context);
      purgesRoutes(dashboard, context);
      keysRoutes(dashboard, context);
      edgesRoutes(dashboard, context);
      sourcesRoutes(dashboard, context);
      assetsRoutes(dashboard, context);
      previewRoutes(dashboard, context);
      webhooksRoutes(dashboard, context);
      clusterRoutes(dashboard, context);
    },
    { prefix: '/dashboard' },
  );
}

/** Small JSON endpoints the page script polls. */
function wantsJson(request: FastifyRequest): boolean {
  return /^\/dashboard\/purges\/[^/]+\/status(\?|$)/.test(request.url);
}

/**
 * Nothing from another origin, no inline script or style, no framing; images also from the render listener
 * (the preview loads the default Source's renders straight from it).
 */
function contentSecurityPolicy(services: DashboardServices, request: FastifyRequest): string {
  const render = directRenderOrigin(services.publicUrl, services.renderUrl(), request.hostname);
  return [
    "default-src 'self'",
    `img-src 'self'${render ? ` ${render}` : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
