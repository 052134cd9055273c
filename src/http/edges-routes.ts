import type { FastifyInstance } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { EdgeService } from '../edges/edge-service.ts';
import { PictorError } from '../errors.ts';
import type { EdgeRecord } from '../store/edge-store.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';

/**
 * The Varnish edges registry: `GET|POST /api/v1/edges`, `DELETE /api/v1/edges/:name` and
 * `POST /api/v1/edges/:name/readmit` (flush, then back in rotation), all needing the `admin` permission.
 */
export function edgesRoutes(app: FastifyInstance, edges: EdgeService, keys: ApiKeys): void {
  const auth = { onRequest: requireKey(keys, 'admin') };

  app.get('/api/v1/edges', auth, async (request) => document((await edges.list()).map(edgeResource), request.apiKey));

  app.post('/api/v1/edges', auth, async (request, reply) => {
    const edge = await edges.add(readEdgeDocument(request.body));
    reply.status(201).header('location', `/api/v1/edges/${encodeURIComponent(edge.name)}`);
    return document(edgeResource(edge), request.apiKey);
  });

  app.delete<{ Params: { name: string } }>('/api/v1/edges/:name', auth, async (request, reply) => {
    await edges.remove(request.params.name);
    return reply.status(204).send();
  });

  app.post<{ Params: { name: string } }>('/api/v1/edges/:name/readmit', auth, async (request) =>
    document(edgeResource(await edges.readmit(request.params.name)), request.apiKey),
  );

  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/api/v1/edges', ...methodNotAllowed('GET, POST', 'List edges with GET, add one with POST.') });
  app.route({ method: ['GET', 'PUT', 'PATCH', 'POST'], url: '/api/v1/edges/:name', ...methodNotAllowed('DELETE', 'An edge is removed with DELETE; list edges with GET /api/v1/edges.') });
}

export function edgeResource(edge: EdgeRecord): Record<string, unknown> {
  return {
    type: 'edges',
    id: edge.name,
    attributes: {
      name: edge.name,
      url: edge.url,
      in_rotation: edge.inRotation,
      reason: edge.reason,
      changed_at: Math.floor(edge.changedAt / 1000),
      created_at: Math.floor(edge.createdAt / 1000),
    },
  };
}

/** `{"data": {"type": "edges", "attributes": {"name": …, "url": …}}}`: the attributes. */
function readEdgeDocument(body: unknown): unknown {
  const data = (body as { data?: unknown } | null)?.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new PictorError('BAD_REQUEST', 'The body must be a JSON:API document: {"data": {"type": "edges", "attributes": {"name": …, "url": …}}}.', { pointer: '/data' });
  }
  if (data.type !== 'edges') {
    const got = data.type === undefined ? 'it is missing' : `got ${JSON.stringify(data.type)}`;
    throw new PictorError('BAD_REQUEST', `"data.type" must be "edges" (JSON:API requires it), ${got}.`, { pointer: '/data/type' });
  }
  return data.attributes;
}
