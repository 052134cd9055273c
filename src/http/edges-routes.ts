import type { FastifyInstance } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { EdgeService } from '../edges/edge-service.ts';
import type { EdgeRecord } from '../store/edge-store.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';

const EDGE = resource('edges', {
  name: { type: 'string' },
  kind: { type: 'string', enum: ['varnish', 'nginx', 'cloudflare', 'fastly', 'cloudfront'] },
  url: { type: ['string', 'null'], description: 'Varnish and nginx: where purges go.' },
  zone_id: { type: 'string', description: 'Cloudflare.' },
  service_id: { type: 'string', description: 'Fastly.' },
  soft_purge: { type: 'boolean', description: 'Fastly.' },
  distribution_id: { type: 'string', description: 'CloudFront.' },
  access_key_id: { type: 'string', description: 'CloudFront.' },
  endpoint: { type: 'string', description: "A CDN's API, when not the vendor's own." },
  secrets_set: { type: 'array', items: { type: 'string' }, description: 'Which secrets are set; their values are never returned.' },
  in_rotation: { type: 'boolean' },
  reason: { type: ['string', 'null'], description: 'Why the edge is out of rotation.' },
  changed_at: { type: 'integer', description: 'Unix seconds.' },
  created_at: { type: 'integer', description: 'Unix seconds.' },
  readmitted_at: { type: ['integer', 'null'], description: 'Unix seconds: when it was last put back in rotation after a flush.' },
  readmitted_by: { type: ['string', 'null'], enum: ['automatic', 'operator', null], description: 'Who put it back: the edge healing, or `readmit`.' },
  last_error: { type: ['string', 'null'], description: 'The last error seen for it: a purge it missed, or a flush that failed since.' },
});

/** Which attributes a kind takes, and their shapes, are checked by the edge service (edges/edge-attributes.ts). */
const EDGE_BODY = requestDocument('edges', '{"data": {"type": "edges", "attributes": {"name": …, "kind": …, …}}}', {
  requireAttributes: true,
  attributes: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'A lowercase name for the edge (letters, digits, hyphens).' },
      kind: { type: 'string', description: '`varnish` (when absent), `nginx`, `cloudflare`, `fastly` or `cloudfront`.' },
      url: { type: 'string', description: 'Varnish and nginx: the edge\'s address for purges, http://HOST:PORT.' },
      zone_id: { type: 'string', description: 'Cloudflare: the zone id.' },
      service_id: { type: 'string', description: 'Fastly: the service id.' },
      soft_purge: { type: 'boolean', description: 'Fastly: mark stale instead of removing.' },
      distribution_id: { type: 'string', description: 'CloudFront: the distribution id.' },
      access_key_id: { type: 'string', description: 'CloudFront: the AWS access key id.' },
      api_token: { type: 'string', description: 'Cloudflare, Fastly: an API token allowed to purge. Write-only.' },
      secret_access_key: { type: 'string', description: 'CloudFront: the secret of the access key. Write-only.' },
      endpoint: { type: 'string', description: "Cloudflare, Fastly, CloudFront: the API's base URL, when not the vendor's own (https)." },
    },
  },
});

const NAME = pathParams({ name: 'The edge\'s name.' });

/**
 * The edges registry (Varnish, nginx, Cloudflare, Fastly, CloudFront): `GET|POST /api/v1/edges`, `DELETE /api/v1/edges/:name` and
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

/** An edge as the API shows it: its settings beside its name, which secrets are set, never their values. */
export function edgeResource(edge: EdgeRecord): Record<string, unknown> {
  return {
    type: 'edges',
    id: edge.name,
    attributes: {
      name: edge.name,
      kind: edge.kind,
      url: edge.url,
      ...edge.settings,
      secrets_set: Object.keys(edge.secrets).sort(),
      in_rotation: edge.inRotation,
      reason: edge.reason,
      changed_at: Math.floor(edge.changedAt / 1000),
      created_at: Math.floor(edge.createdAt / 1000),
      readmitted_at: edge.readmittedAt === null ? null : Math.floor(edge.readmittedAt / 1000),
      readmitted_by: edge.readmittedBy,
      last_error: edge.lastError,
    },
  };
}
