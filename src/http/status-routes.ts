import type { FastifyInstance } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { ClusterStatus } from '../cluster/cluster-status.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { resource, responses, secured, successDocument } from './openapi.ts';

const ISO_OR_NULL = { type: ['string', 'null'], format: 'date-time' };

const STATUS = resource('cluster-status', {
  nodes: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        lease_until: { ...ISO_OR_NULL, description: 'Null for a single node (SQLite), whose lease never runs out.' },
        lease_expired: { type: 'boolean' },
        last_applied: { type: 'integer' },
        lag: { type: 'integer', description: 'Purges logged that the node has not applied yet.' },
        fenced: { type: 'boolean' },
      },
    },
  },
  edges: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        url: { type: 'string' },
        kind: { type: ['string', 'null'] },
        in_rotation: { type: 'boolean' },
        reason: { type: ['string', 'null'] },
        since: { type: 'string', format: 'date-time', description: 'When it last went in or out of rotation.' },
        readmitted_at: { ...ISO_OR_NULL, description: 'When it was last put back in rotation after a flush; null until it first was.' },
        readmitted_by: {
          type: ['string', 'null'],
          enum: ['automatic', 'operator', null],
          description: '`automatic`: the edge was flushed and re-admitted by itself (`--edge-heal-interval`); `operator`: by `readmit`.',
        },
        last_purge_at: { ...ISO_OR_NULL, description: 'When it last confirmed a purge, among the purges kept.' },
        last_error: { type: ['string', 'null'], description: 'The last error seen for it: a purge it missed, or a flush that failed since.' },
      },
    },
  },
  purge_log: {
    type: 'object',
    properties: {
      head: { type: 'integer' },
      pending: { type: 'integer', description: 'Counted up to 10,000.' },
      oldest_pending_at: ISO_OR_NULL,
      oldest_pending_age_seconds: { type: ['integer', 'null'] },
    },
  },
});

/** `GET /api/v1/status`: the cluster's nodes, edges and purge log, as `pictor status --json` prints them (`admin`). */
export function statusRoutes(app: FastifyInstance, status: () => Promise<ClusterStatus>, keys: ApiKeys): void {
  const summary = 'The cluster: nodes, edges, purge log';
  const schema = { tags: ['Health'], ...secured('admin'), summary, response: responses({ 200: successDocument(STATUS) }) };
  app.get('/api/v1/status', { onRequest: requireKey(keys, 'admin'), schema }, async (request) =>
    document({ type: 'cluster-status', id: 'cluster', attributes: await status() }, request.apiKey),
  );
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/v1/status', ...methodNotAllowed('GET', 'The status is read with GET.') });
}
