import type { FastifyInstance } from 'fastify';
import type { ApiKey, ApiKeys } from '../auth/api-keys.ts';
import { PictorError } from '../errors.ts';
import type { PurgeRecord } from '../purge/model.ts';
import { MAX_PURGE_URL_LENGTH } from '../purge/purge-request.ts';
import { purgeWarning } from '../purge/purge-warning.ts';
import type { PurgeRequest, Purges } from '../purge/purges.ts';
import type { RateLimitStore } from '../store/stores.ts';
import { videoPurgeNotice } from '../purge/video-notice.ts';
import { requireKey } from './api-auth.ts';
import { document } from './jsonapi.ts';

const SOURCE_ID = /^[0-9a-f]{24}$/;

/** imgix's Purge API (`POST /api/v1/purge`) and Pictor's status resource (`GET /api/v1/purges/:id`). */
export function purgeRoutes(
  app: FastifyInstance,
  purges: Purges,
  keys: ApiKeys,
  limiter: RateLimitStore,
  onAccepted: (coalesced: boolean) => void = () => {},
): void {
  /** imgix's answer to an accepted purge: the id twice, and whether it joined a purge already queued. */
  const accepted = ({ record, coalesced }: { record: PurgeRecord; coalesced: boolean }, caller: ApiKey | undefined) => {
    onAccepted(coalesced);
    const video = videoPurgeNotice(record);
    return document({ id: record.id, type: 'purges', attributes: { purge_id: record.id } }, caller, { pictor: video ? { coalesced, video } : { coalesced } });
  };

  app.post('/api/v1/purge', { onRequest: requireKey(keys, 'purge', limiter) }, async (request) => {
    const attributes = readPurgeDocument(request.body);
    return accepted(await purges.purge({ ...attributes, requestedBy: request.apiKey?.name }), request.apiKey);
  });

  app.post<{ Params: { id: string } }>('/api/v1/sources/:id/purge', { onRequest: requireKey(keys, 'purge', limiter) }, async (request) => {
    return accepted(await purges.purgeSource(request.params.id, request.apiKey?.name), request.apiKey);
  });

  app.get<{ Params: { id: string } }>('/api/v1/purges/:id', { onRequest: requireKey(keys, 'purge') }, async (request) => {
    const record = await purges.get(request.params.id);
    if (!record) throw new PictorError('NOT_FOUND', `No purge has the id "${request.params.id}".`);
    const video = videoPurgeNotice(record);
    const warning = purgeWarning(record);
    const pictor = { ...(video ? { video } : {}), ...(warning ? { warning } : {}) };
    return document(purgeResource(record), request.apiKey, Object.keys(pictor).length > 0 ? { pictor } : {});
  });
}

export function purgeResource(record: PurgeRecord): Record<string, unknown> {
  return {
    id: record.id,
    type: 'purges',
    attributes: {
      purge_id: record.id,
      url: record.url || null,
      source_id: record.parentSourceId ?? record.sourceId,
      sub_image: record.subImage,
      match: record.match,
      status: record.status,
      origin: record.origin ?? null,
      matched: record.matched ?? null,
      generation: record.generation ?? null,
      error: record.error ?? null,
      created_at: new Date(record.createdAt).toISOString(),
      completed_at: record.completedAt === undefined ? null : new Date(record.completedAt).toISOString(),
      // Where it took effect: the cluster's nodes (applied, or fenced once their lease ran out), then the edges.
      nodes: record.report?.nodes ?? null,
      edges: record.report?.edges ?? null,
    },
  };
}

/** Validates a `purges` document; every problem is a 400 that points at the offending member. */
function readPurgeDocument(body: unknown): Omit<PurgeRequest, 'requestedBy'> {
  const data = objectAt(objectAt(body, '', 'The body must be a JSON:API document: {"data": {"type": "purges", "attributes": {"url": "…"}}}.').data, '/data', '"data" must be an object.');
  if (data.type !== 'purges') {
    const got = data.type === undefined ? 'it is missing' : `got ${JSON.stringify(data.type)}`;
    throw new PictorError('BAD_REQUEST', `"data.type" must be "purges" (JSON:API requires it), ${got}.`, { pointer: '/data/type' });
  }
  const attributes = objectAt(data.attributes, '/data/attributes', '"data.attributes" must be an object with a "url".');
  const { url, source_id: sourceId, sub_image: subImage, match } = attributes;
  if (match !== undefined && match !== 'exact' && match !== 'prefix') {
    throw new PictorError('BAD_REQUEST', `"match" must be "exact" or "prefix", got ${JSON.stringify(match)}.`, { pointer: '/data/attributes/match' });
  }
  if (typeof url !== 'string' || url.trim() === '') {
    throw new PictorError('BAD_REQUEST', '"url" is required: the full URL of the asset to purge.', { pointer: '/data/attributes/url' });
  }
  if (url.length > MAX_PURGE_URL_LENGTH) {
    throw new PictorError('BAD_REQUEST', `"url" may have at most ${MAX_PURGE_URL_LENGTH} characters, and this one has ${url.length}.`, {
      pointer: '/data/attributes/url',
    });
  }
  if (subImage !== undefined && typeof subImage !== 'boolean') {
    throw new PictorError('BAD_REQUEST', `"sub_image" must be true or false, got ${JSON.stringify(subImage)}.`, { pointer: '/data/attributes/sub_image' });
  }
  if (sourceId !== undefined && sourceId !== null && (typeof sourceId !== 'string' || !SOURCE_ID.test(sourceId))) {
    throw new PictorError('BAD_REQUEST', `"source_id" must be a Source id (24 hexadecimal digits), got ${JSON.stringify(sourceId)}.`, {
      pointer: '/data/attributes/source_id',
    });
  }
  return { url: url.trim(), sourceId: sourceId ?? undefined, subImage, match };
}

function objectAt(value: unknown, pointer: string, message: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PictorError('BAD_REQUEST', message, { pointer: pointer || '/' });
  return value as Record<string, unknown>;
}
