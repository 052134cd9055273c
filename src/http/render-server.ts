import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DeliveryService } from '../delivery/delivery-service.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { toPictorError } from './jsonapi.ts';
import { serverOptions } from './server-options.ts';

declare module 'fastify' {
  interface FastifyRequest {
    cacheResult?: 'hit' | 'miss';
  }
}

/** Error responses are cached briefly by clients and CDNs, like imgix's `cache_ttl_error` (300 s). */
const ERROR_MAX_AGE = 300;

/** The render listener: the imgix Rendering API (`GET /<path>?<params>`) and `/healthz`. */
export function createRenderServer(delivery: DeliveryService, metrics: Metrics, logger: Logger): FastifyInstance {
  const app = Fastify(serverOptions(logger, 'render'));

  app.addHook('onResponse', async (request, reply) => {
    const cache = request.cacheResult ?? 'none';
    metrics.requests.inc({ listener: 'render', status: String(reply.statusCode), cache });
    // No log line per cache hit at the default level: hits are counted in /metrics instead.
    const level = reply.statusCode >= 500 ? 'error' : cache === 'hit' ? 'debug' : 'info';
    request.log[level]({ method: request.method, url: request.url, status: reply.statusCode, cache, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler(async (error, request, reply) => {
    const pictorError = toPictorError(error);
    if (pictorError.status >= 500) request.log.error({ err: error }, 'render failed');
    for (const [name, value] of Object.entries(pictorError.headers ?? {})) reply.header(name, value);
    return reply
      .status(pictorError.status)
      .header('cache-control', pictorError.status >= 500 ? 'no-store' : `public, max-age=${ERROR_MAX_AGE}`)
      .header('x-request-id', request.id)
      .type('text/plain; charset=utf-8')
      .send(`${pictorError.message}\n`);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/*', (request, reply) => serve(delivery, request, reply));
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    handler: async (_request, reply) => reply.status(405).header('allow', 'GET, HEAD').type('text/plain; charset=utf-8').send('Only GET and HEAD are allowed here.\n'),
  });
  return app;
}

async function serve(delivery: DeliveryService, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const target = request.raw.url ?? '/';
  const queryStart = target.indexOf('?');
  const response = await delivery.handle({
    host: request.headers.host,
    rawPath: queryStart === -1 ? target : target.slice(0, queryStart),
    rawQuery: queryStart === -1 ? '' : target.slice(queryStart + 1),
    accept: request.headers.accept,
    ifNoneMatch: request.headers['if-none-match'],
  });
  request.cacheResult = response.cache;
  return reply.status(response.status).headers({ ...response.headers, 'x-request-id': request.id }).send(response.body);
}
