import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { RateLimitStore } from '../store/stores.ts';
import { PictorError } from '../errors.ts';
import type { Health } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import { registerDashboard, type DashboardServices } from '../dashboard/index.ts';
import type { EdgeService } from '../edges/edge-service.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Purges } from '../purge/purges.ts';
import type { AssetService } from '../assets/asset-service.ts';
import type { SourceService } from '../sources/source-service.ts';
import { assetsRoutes, type AssetsRoutesOptions } from './assets-routes.ts';
import { registerBodyParsers } from './body-parsers.ts';
import { edgesRoutes } from './edges-routes.ts';
import { failureLevel, toPictorError } from '../failures.ts';
import { errorDocument, JSONAPI_CONTENT_TYPE, methodNotAllowed } from './jsonapi.ts';
import { OPENAPI_PATH, registerOpenApi } from './openapi.ts';
import { purgeRoutes } from './purge-routes.ts';
import { schemaError, VALIDATOR_OPTIONS } from './schema-errors.ts';
import { serverOptions } from './server-options.ts';
import { sourcesRoutes } from './sources-routes.ts';
import { takedownRoutes } from './takedown-routes.ts';
import type { Takedowns } from '../takedown/takedowns.ts';
import type { WebhookService } from '../webhooks/webhook-service.ts';
import { webhooksRoutes } from './webhooks-routes.ts';

export interface AdminServices {
  /** Why this node must not serve now (a cluster node behind on purges), else undefined. */
  unavailable?: () => string | undefined;
  keys: ApiKeys;
  purges: Purges;
  purgeLimiter: RateLimitStore;
  sources: SourceService;
  edges: EdgeService;
  takedowns: Takedowns;
  webhooks: WebhookService;
  /** The Assets API; absent: not served. */
  assets?: { service: AssetService } & AssetsRoutesOptions;
  metrics: Metrics;
  health: Health;
  logger: Logger;
  /** The web dashboard under `/dashboard/` (and a redirect from `/`); absent: API only. */
  dashboard?: DashboardServices;
}

/** The admin listener: the Management API (JSON:API), the dashboard, `/metrics` and `/healthz`. */
export function createAdminServer(services: AdminServices): FastifyInstance {
  const app = Fastify({ ...serverOptions(services.logger, 'admin'), ajv: { customOptions: VALIDATOR_OPTIONS }, schemaErrorFormatter: schemaError });
  registerBodyParsers(app);
  // Response schemas document the API (openapi.ts); answers are written as the handlers return them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Once close() has begun, every response ends its connection, also one for a request already in flight:
  // close() would otherwise wait for that kept-alive connection until keepAliveTimeout (72 s).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    // A body left unread (an unknown route, a refused key or method) ends the connection: the client may
    // still be sending it, and it must never be read as the start of the next request.
    if (closing || (request.body === undefined && carriesBody(request))) reply.header('connection', 'close');
    if (request.url.startsWith('/api/') && request.routeOptions.url !== OPENAPI_PATH) reply.header('content-type', JSONAPI_CONTENT_TYPE);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.countRequest('admin', reply.statusCode, 'none');
    request.log.info({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler(async (error, request, reply) => {
    const pictorError = toPictorError(error);
    const level = failureLevel(pictorError);
    if (level) request.log[level]({ err: error }, 'request failed');
    for (const [name, value] of Object.entries(pictorError.headers ?? {})) reply.header(name, value);
    return reply.status(pictorError.status).type(JSONAPI_CONTENT_TYPE).send(errorDocument(pictorError, request.apiKey));
  });
  // Unknown routes are refused before their body is read (see body-parsers.ts); the dashboard has its own
  // not-found page, behind its session check.
  const notFound = (request: FastifyRequest): PictorError => new PictorError('NOT_FOUND', `There is no ${request.method} ${request.url.split('?')[0]} in this API.`);
  app.addHook('onRequest', async (request) => {
    if (request.is404 && !request.url.startsWith('/dashboard/')) throw notFound(request);
  });
  app.setNotFoundHandler(async (request) => {
    throw notFound(request);
  });

  registerOpenApi(app);
  void app.register(async (api) => {
    const health = {
      tags: ['Health'],
      summary: 'Whether this node serves',
      description: 'No API key needed. 503 while the node must not serve (a cluster node behind on purges).',
      response: {
        200: { description: 'Ready (possibly degraded: see the conditions).', type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
        503: { description: 'Not serving now.', type: 'object', required: ['status'], properties: { status: { type: 'string' }, reason: { type: 'string' } } },
      },
    };
    api.get('/healthz', { schema: health }, async (_request, reply) => {
      // A cluster node that cannot vouch for its freshness says so here too (503), as on the render listener.
      const reason = services.unavailable?.();
      if (reason !== undefined) return reply.status(503).header('cache-control', 'no-store').send({ status: 'unavailable', reason });
      return services.health.document();
    });
    api.get('/metrics', async (_request, reply) => {
      reply.type(services.metrics.registry.contentType);
      return services.metrics.registry.metrics();
    });
    purgeRoutes(api, services.purges, services.keys, services.purgeLimiter, (coalesced) =>
      services.metrics.purgesTotal.inc({ coalesced: String(coalesced) }),
    );
    sourcesRoutes(api, services.sources, services.keys);
    edgesRoutes(api, services.edges, services.keys);
    takedownRoutes(api, services.takedowns, services.keys);
    webhooksRoutes(api, services.webhooks, services.keys);
    if (services.assets) assetsRoutes(api, services.assets.service, services.keys, services.assets);
    if (services.dashboard) registerDashboard(api, services.dashboard);
    api.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url: '/api/v1/purge', ...methodNotAllowed('POST', 'Purges are created with POST.') });
  });
  return app;
}

function carriesBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
