import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKey, ApiKeys } from '../auth/api-keys.ts';
import { PictorError } from '../errors.ts';
import type { TakedownAuditEntry, TakedownRecord } from '../store/takedown-store.ts';
import type { Takedowns } from '../takedown/takedowns.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, queryParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';
import { requestOrigin } from '../request-origin.ts';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

const REASON = { type: 'string', description: 'Why the asset is taken down (a notice, a ticket), for the audit trail.' };

/** Creating: the URL and the reason. Whether the URL is one Pictor serves, and the reason's length, are the service's to check. */
const CREATE_BODY = requestDocument('takedowns', '{"data": {"type": "takedowns", "attributes": {"url": "…", "reason": "…"}}}', {
  requireAttributes: true,
  attributes: {
    type: 'object',
    required: ['url', 'reason'],
    additionalProperties: false,
    properties: { url: { type: 'string', description: 'The full URL of the asset to take down.' }, reason: REASON },
  },
});

/** Lifting: no body, or a document with only a reason. */
const LIFT_BODY = {
  ...requestDocument('takedowns', '{"data": {"type": "takedowns", "attributes": {"reason": "…"}}} (or no body)', {
    requireAttributes: false,
    attributes: { type: 'object', additionalProperties: false, properties: { reason: REASON } },
  }),
  type: ['object', 'null'],
};

const TAKEDOWN = resource('takedowns', {
  url: { type: 'string' },
  source_id: { type: 'string' },
  path: { type: 'string' },
  origin_object: {
    type: ['string', 'null'],
    description:
      'What the URL resolved to at the origin when it was taken down: `folder:<real path, after symlinks>`, ' +
      '`s3:<endpoint host or aws>/<bucket>/<key>` or `url:<final URL>`. Requests reaching it through any Source or path are answered 451.',
  },
  sha256: { type: ['string', 'null'], description: 'SHA-256 (hex) of the bytes the origin had then: every copy of them is answered 451.' },
  origin_note: {
    type: ['string', 'null'],
    description: 'Why `origin_object` or `sha256` could not be recorded (the origin had no such file, or failed); null when both were.',
  },
  reason: { type: 'string' },
  status: { type: 'string', enum: ['active', 'lifted'] },
  purge_id: { type: ['string', 'null'] },
  created_by: { type: 'string' },
  created_at: { type: 'string', format: 'date-time' },
  lifted_by: { type: ['string', 'null'] },
  lifted_at: { type: ['string', 'null'], format: 'date-time' },
  audit: { type: 'array', description: 'Every action on the takedown (one takedown only).', items: { type: 'object' } },
});

const PAGINATION = { type: 'object', description: 'Pages count from 0.' };
const ID = pathParams({ id: 'The takedown\'s id.' });

/**
 * Takedowns (Pictor's self-serve answer to a legal notice): `POST|GET /api/v1/takedowns`,
 * `GET|DELETE /api/v1/takedowns/:id`, all needing the `admin` permission.
 */
export function takedownRoutes(app: FastifyInstance, takedowns: Takedowns, keys: ApiKeys): void {
  const onRequest = requireKey(keys, 'admin');
  const doc = { tags: ['Takedowns'], ...secured('admin') };

  const create = { ...doc, summary: 'Take an asset down', body: CREATE_BODY, response: responses({ 200: successDocument(TAKEDOWN), 201: successDocument(TAKEDOWN) }) };
  app.post('/api/v1/takedowns', { onRequest, schema: create }, async (request, reply) => {
    const { url, reason } = attributesOf(request.body);
    const { record, created } = await takedowns.create({ url: url!, reason: reason!, actor: actorOf(request.apiKey!) });
    reply.status(created ? 201 : 200).header('location', `/api/v1/takedowns/${record.id}`);
    return document(takedownResource(record), request.apiKey);
  });

  const list = {
    ...doc,
    summary: 'List takedowns',
    querystring: queryParams({
      'page[number]': 'The page, from 0.',
      'page[size]': `Takedowns a page, 1 to ${MAX_PAGE_SIZE} (${DEFAULT_PAGE_SIZE} by default).`,
      'filter[status]': '`active`: only the takedowns in force.',
    }),
    response: responses({ 200: successDocument({ type: 'array', items: TAKEDOWN }, { meta: { pagination: PAGINATION }, links: true }) }),
  };
  app.get('/api/v1/takedowns', { onRequest, schema: list }, async (request) => {
    const { number, size, activeOnly } = readListQuery(request.query as Record<string, unknown>);
    const { records, total } = await takedowns.list({ activeOnly, offset: number * size, limit: size });
    const totalPages = Math.ceil(total / size);
    const hasNextPage = number + 1 < totalPages;
    const pagination = {
      currentPage: number,
      hasNextPage,
      hasPreviousPage: number > 0,
      nextPage: hasNextPage ? number + 1 : null,
      previousPage: number > 0 ? number - 1 : null,
      pageSize: size,
      totalPages,
      totalRecords: total,
    };
    const link = (page: number | null): string | null => (page === null ? null : pageUrl(request, page, size));
    const links = { self: link(number), first: link(0), prev: link(pagination.previousPage), next: link(pagination.nextPage), last: link(Math.max(totalPages - 1, 0)) };
    return { ...document(records.map((record) => takedownResource(record)), request.apiKey, { pagination }), links };
  });

  const read = { ...doc, summary: 'A takedown and its audit trail', params: ID, response: responses({ 200: successDocument(TAKEDOWN) }) };
  app.get<{ Params: { id: string } }>('/api/v1/takedowns/:id', { onRequest, schema: read }, async (request) => {
    const { record, audit } = await takedowns.get(request.params.id);
    return document(takedownResource(record, audit), request.apiKey);
  });

  const lift = {
    ...doc,
    summary: 'Lift a takedown',
    params: ID,
    body: LIFT_BODY,
    response: responses({ 200: successDocument(TAKEDOWN, { meta: { pictor: { type: 'object', properties: { lifted_now: { type: 'boolean' } } } } }) }),
  };
  app.delete<{ Params: { id: string } }>('/api/v1/takedowns/:id', { onRequest, schema: lift }, async (request) => {
    const { reason } = attributesOf(request.body);
    const { lifted } = await takedowns.lift(request.params.id, { actor: actorOf(request.apiKey!), reason });
    const { record, audit } = await takedowns.get(request.params.id);
    return document(takedownResource(record, audit), request.apiKey, { pictor: { lifted_now: lifted } });
  });

  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/api/v1/takedowns', ...methodNotAllowed('GET, POST', 'List takedowns with GET, create one with POST.') });
  app.route({ method: ['PUT', 'PATCH', 'POST'], url: '/api/v1/takedowns/:id', ...methodNotAllowed('GET, DELETE', 'Read a takedown with GET, lift it with DELETE.') });
}

/** Who is recorded in the audit trail for an API key: its id (names need not be unique) and its name. */
export function actorOf(key: ApiKey): string {
  return `key:${key.id} (${key.name})`;
}

export function takedownResource(record: TakedownRecord, audit?: readonly TakedownAuditEntry[]): Record<string, unknown> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: record.id,
    type: 'takedowns',
    attributes: {
      url: record.url,
      source_id: record.sourceId,
      path: record.path,
      origin_object: record.originObject,
      sha256: record.sha256,
      origin_note: record.originNote,
      reason: record.reason,
      status: record.liftedAt === null ? 'active' : 'lifted',
      purge_id: record.purgeId,
      created_by: record.createdBy,
      created_at: iso(record.createdAt),
      lifted_by: record.liftedBy,
      lifted_at: iso(record.liftedAt),
      ...(audit && { audit: audit.map((entry) => ({ action: entry.action, actor: entry.actor, reason: entry.reason, at: iso(entry.at) })) }),
    },
  };
}

/** The attributes of a document that passed CREATE_BODY or LIFT_BODY (none without a body). */
function attributesOf(body: unknown): { url?: string; reason?: string } {
  return (body as { data?: { attributes?: { url?: string; reason?: string } } } | null)?.data?.attributes ?? {};
}

function readListQuery(query: Record<string, unknown>): { number: number; size: number; activeOnly: boolean } {
  const result = { number: 0, size: DEFAULT_PAGE_SIZE, activeOnly: false };
  for (const [name, value] of Object.entries(query)) {
    const text = typeof value === 'string' ? value : undefined;
    if (name === 'page[number]') result.number = wholeNumber(name, text, 0, Number.MAX_SAFE_INTEGER);
    else if (name === 'page[size]') result.size = wholeNumber(name, text, 1, MAX_PAGE_SIZE);
    else if (name === 'filter[status]') {
      if (text !== 'active') throw badQuery(`"filter[status]" may only be "active" (without it, the list has active and lifted takedowns), got ${JSON.stringify(value)}.`);
      result.activeOnly = true;
    } else if (name.startsWith('page[') || name.startsWith('filter[')) {
      throw badQuery(`Takedowns are paged with page[number] (from 0) and page[size], and filtered with filter[status]=active; "${name}" is not supported.`);
    }
  }
  return result;
}

function wholeNumber(name: string, text: string | undefined, min: number, max: number): number {
  const number = text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  if (!(number >= min && number <= max)) throw badQuery(`"${name}" must be a whole number ${range}, got ${JSON.stringify(text ?? null)}.`);
  return number;
}

function badQuery(message: string): PictorError {
  return new PictorError('BAD_REQUEST', message);
}

/** The same list URL for another page. */
function pageUrl(request: FastifyRequest, page: number, size: number): string {
  const url = new URL(request.url, requestOrigin(request));
  url.searchParams.set('page[number]', String(page));
  url.searchParams.set('page[size]', String(size));
  return url.toString();
}
