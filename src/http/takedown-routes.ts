import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKey, ApiKeys } from '../auth/api-keys.ts';
import { PictorError } from '../errors.ts';
import type { TakedownAuditEntry, TakedownRecord } from '../store/takedown-store.ts';
import type { Takedowns } from '../takedown/takedowns.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/**
 * Takedowns (Pictor's self-serve answer to a legal notice): `POST|GET /api/v1/takedowns`,
 * `GET|DELETE /api/v1/takedowns/:id`, all needing the `admin` permission.
 */
export function takedownRoutes(app: FastifyInstance, takedowns: Takedowns, keys: ApiKeys): void {
  const auth = { onRequest: requireKey(keys, 'admin') };

  app.post('/api/v1/takedowns', auth, async (request, reply) => {
    const { url, reason } = readTakedownDocument(request.body, true);
    const { record, created } = await takedowns.create({ url: url!, reason: reason!, actor: actorOf(request.apiKey!) });
    reply.status(created ? 201 : 200).header('location', `/api/v1/takedowns/${record.id}`);
    return document(takedownResource(record), request.apiKey);
  });

  app.get('/api/v1/takedowns', auth, async (request) => {
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

  app.get<{ Params: { id: string } }>('/api/v1/takedowns/:id', auth, async (request) => {
    const { record, audit } = await takedowns.get(request.params.id);
    return document(takedownResource(record, audit), request.apiKey);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/takedowns/:id', auth, async (request) => {
    const { reason } = request.body === undefined ? {} : readTakedownDocument(request.body, false);
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

/** `{"data": {"type": "takedowns", "attributes": {"url": …, "reason": …}}}`; a lift may carry only a reason. */
function readTakedownDocument(body: unknown, create: boolean): { url?: string; reason?: string } {
  const example = create ? '{"data": {"type": "takedowns", "attributes": {"url": "…", "reason": "…"}}}' : '{"data": {"type": "takedowns", "attributes": {"reason": "…"}}} (or no body)';
  if (!isObject(body) || !isObject(body.data)) throw new PictorError('BAD_REQUEST', `The body must be a JSON:API document: ${example}.`, { pointer: '/data' });
  const { data } = body;
  if (data.type !== 'takedowns') {
    const got = data.type === undefined ? 'it is missing' : `got ${JSON.stringify(data.type)}`;
    throw new PictorError('BAD_REQUEST', `"data.type" must be "takedowns" (JSON:API requires it), ${got}.`, { pointer: '/data/type' });
  }
  const attributes = data.attributes ?? {};
  if (!isObject(attributes)) throw new PictorError('BAD_REQUEST', `"data.attributes" must be an object: ${example}.`, { pointer: '/data/attributes' });
  const known = create ? ['url', 'reason'] : ['reason'];
  const unknown = Object.keys(attributes).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new PictorError('BAD_REQUEST', `Unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; expected ${known.map((name) => `"${name}"`).join(' and ')}.`, {
      pointer: `/data/attributes/${unknown[0]}`,
    });
  }
  for (const name of known) {
    const value = attributes[name];
    if (value !== undefined && typeof value !== 'string') {
      throw new PictorError('BAD_REQUEST', `"${name}" must be a string, got ${JSON.stringify(value)}.`, { pointer: `/data/attributes/${name}` });
    }
  }
  if (create && attributes.url === undefined) {
    throw new PictorError('BAD_REQUEST', '"url" is required: the full URL of the asset to take down.', { pointer: '/data/attributes/url' });
  }
  if (create && attributes.reason === undefined) {
    throw new PictorError('BAD_REQUEST', '"reason" is required: why the asset is taken down (a notice, a ticket), for the audit trail.', {
      pointer: '/data/attributes/reason',
    });
  }
  return { url: attributes.url as string | undefined, reason: attributes.reason as string | undefined };
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
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  url.searchParams.set('page[number]', String(page));
  url.searchParams.set('page[size]', String(size));
  return url.toString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
