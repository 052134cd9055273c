import type { FastifyInstance } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { EdgeService } from '../edges/edge-service.ts';
import type { EdgeRecord } from '../store/edge-store.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';

const EDGE = resource('edges', {
  name: { type: 'string' },
  url: { type: 'string' },
  in_rotation: { type: 'boolean' },
  reason: { type: ['string', 'null'], description: 'Why the edge is out of rotation.' },
  changed_at: { type: 'integer', description: 'Unix seconds.' },
  created_at: { type: 'integer', description: 'Unix seconds.' },
});

/** The names and URLs themselves are checked by the edge service. */
const EDGE_BODY = requestDocument('edges', '{"data": {"type": "edges", "attributes": {"name": …, "url": …}}}', {
  requireAttributes: true,
  attributes: {
    type: 'object',
    required: ['name', 'url'],
    properties: {
      name: { type: 'string', description: 'A lowercase name for the edge (letters, digits, hyphens).' },
      url: { type: 'string', description: 'The edge\'s address for purges, http://HOST:PORT.' },
    },
  },
});

const NAME = pathParams({ name: 'The edge\'s name.' });

/**
 * The Varnish edges registry: `GET|POST /api/v1/edges`, `DELETE /api/v1/edges/:name` and
 * `POST /api/v1/edges/:name/readmit` (flush, then back in rotation), all needing the `admin` permission.
 */
export function edgesRoutes(app: FastifyInstance, edges: EdgeService, keys: ApiKeys): void {
  const onRequest = requireKey(keys, 'admin');
  const doc = { tags: ['Edges'], ...secured('admin') };

  const list = { ...doc, summary: 'List the edges', response: responses({ 200: successDocument({ type: 'array', items: EDGE }) }) };
  app.get('/api/v1/edges', { onRequest, schema: list }, async (request) => document((await edges.list()).map(edgeResource), request.apiKey));

  const add = { ...doc, summary: 'Add an edge', body: EDGE_BODY, response: responses({ 201: successDocument(EDGE) }) };
  app.post('/api/v1/edges', { onRequest, schema: add }, async (request, reply) => {
    const edge = await edges.add((request.body as { data: { attributes: unknown } }).data.attributes);
    reply.status(201).header('location', `/api/v1/edges/${encodeURIComponent(edge.name)}`);
    return document(edgeResource(edge), request.apiKey);
  });

  const remove = { ...doc, summary: 'Remove an edge', params: NAME, response: responses({ 204: null }) };
  app.delete<{ Params: { name: string } }>('/api/v1/edges/:name', { onRequest, schema: remove }, async (request, reply) => {
    await edges.remove(request.params.name);
    return reply.status(204).send();
  });

  const readmit = { ...doc, summary: 'Flush an edge and put it back in rotation', params: NAME, response: responses({ 200: successDocument(EDGE) }) };
  app.post<{ Params: { name: string } }>('/api/v1/edges/:name/readmit', { onRequest, schema: readmit }, async (request) =>
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
