import type { FastifyInstance } from 'fastify';
import { ASSET_LIMITS } from '../assets/asset-document.ts';
import type { ApiKey, ApiKeys } from '../auth/api-keys.ts';
import { PictorError } from '../errors.ts';
import type { EdgePurgeState } from '../store/edge-purge-store.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import { MAX_PURGE_URL_LENGTH } from '../purge/purge-request.ts';
import { purgeWarning } from '../purge/purge-warning.ts';
import type { PurgeRequest, Purges, TagPurgeRequest } from '../purge/purges.ts';
import type { RateLimitStore } from '../store/stores.ts';
import { videoPurgeNotice } from '../video/purge-notice.ts';
import { requireKey } from './api-auth.ts';
import { document } from './jsonapi.ts';
import { pathParams, queryParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';
import { MUST } from './schema-errors.ts';

const SOURCE_ID = { type: 'string', pattern: '^[0-9a-f]{24}$', [MUST]: 'a Source id (24 hexadecimal digits)' };

/**
 * `POST /api/v1/purge`: the schema validates the document; that it names a URL or a tag (readPurgeAttributes), and
 * whether the URL is one Pictor serves, are checked after it.
 */
const PURGE_BODY = requestDocument('purges', '{"data": {"type": "purges", "attributes": {"url": "…"}}}', {
  requireAttributes: true,
  attributes: {
    type: 'object',
    [MUST]: 'an object with a "url" or a "tag"',
    properties: {
      url: { type: 'string', pattern: '\\S', maxLength: MAX_PURGE_URL_LENGTH, description: 'The full URL of the asset to purge.' },
      tag: {
        type: 'string',
        pattern: '\\S',
        maxLength: ASSET_LIMITS.item,
        [MUST]: 'a tag (a non-empty string, as the Assets API takes it)',
        description: 'Instead of `url`: purge every asset carrying this tag, matched exactly (Pictor extension).',
      },
      source_id: {
        ...SOURCE_ID,
        type: ['string', 'null'],
        description: 'The Source the asset belongs to; required with `sub_image`. With `tag`: only that Source\'s assets.',
      },
      sub_image: { type: 'boolean', description: 'Also purge every render that uses this asset as a sub-image; needs `source_id`.' },
      match: { type: 'string', enum: ['exact', 'prefix'], description: '`prefix` purges every URL that starts with `url` (Pictor extension).' },
    },
  },
});

const ACCEPTED = successDocument(resource('purges', { purge_id: { type: 'string' } }), {
  meta: { pictor: { type: 'object', properties: { coalesced: { type: 'boolean', description: 'It joined a purge already queued.' }, video: { type: 'object' } } } },
});

const PURGE_STATUS = successDocument(
  resource('purges', {
    purge_id: { type: 'string' },
    url: { type: ['string', 'null'] },
    source_id: { type: ['string', 'null'] },
    sub_image: { type: 'boolean' },
    match: { type: 'string', enum: ['exact', 'prefix', 'source', 'tag'] },
    tag: { type: ['string', 'null'], description: 'A purge by tag: its tag.' },
    assets: { type: ['integer', 'null'], description: 'A purge by tag: how many assets carried the tag when it was accepted.' },
    status: { type: 'string' },
    origin: {
      type: ['string', 'null'],
      enum: ['removed', 'replaced', 'unchanged', 'unknown', null],
      description:
        'What the origin has now, compared with what was cached (exact purges); `unknown` when it could not be asked. ' +
        'Informational: the purge takes effect either way.',
    },
    origin_error: { type: ['string', 'null'], description: 'With `origin: "unknown"`: why the origin could not be asked.' },
    matched: { type: ['integer', 'null'] },
    generation: { type: ['integer', 'null'] },
    error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    completed_at: { type: ['string', 'null'], format: 'date-time' },
    nodes: { type: ['array', 'null'], description: 'The cluster\'s nodes and where the purge took effect.' },
    edges: {
      type: ['object', 'null'],
      description: 'Once the purge ended: the edges that purged (`purged`) and those out of rotation (`out_of_rotation`).',
    },
    edge_states: {
      type: 'array',
      description:
        'Each edge\'s part of the purge, also while it is pending: `name`, `kind`, `state` (`pending`, `purged`, `failed`, ' +
        '`out_of_rotation`), `vendor_id` (a CDN\'s id of a purge in progress), `error` (the last one), `attempts`, `next_attempt_at`.',
      items: { type: 'object' },
    },
  }),
  { meta: { pictor: { type: 'object', properties: { video: { type: 'object' }, warning: { type: 'string' } } } } },
);

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

  const purge = secured('purge');
  app.post(
    '/api/v1/purge',
    {
      onRequest: requireKey(keys, 'purge', limiter),
      schema: { tags: ['Purges'], summary: 'Purge an asset', ...purge, body: PURGE_BODY, response: responses({ 200: ACCEPTED }) },
    },
    async (request) => {
      const attributes = readPurgeAttributes(request.body as PurgeBody);
      const requestedBy = request.apiKey?.name;
      const purge = 'tag' in attributes ? purges.purgeTag({ ...attributes, requestedBy }) : purges.purge({ ...attributes, requestedBy });
      return accepted(await purge, request.apiKey);
    },
  );

  const sourcePurge = {
    tags: ['Purges'],
    summary: 'Purge every derivative of a Source',
    ...purge,
    params: pathParams({ id: 'The Source\'s id.' }),
    response: responses({ 200: ACCEPTED }),
  };
  app.post<{ Params: { id: string } }>('/api/v1/sources/:id/purge', { onRequest: requireKey(keys, 'purge', limiter), schema: sourcePurge }, async (request) => {
    return accepted(await purges.purgeSource(request.params.id, request.apiKey?.name), request.apiKey);
  });

  const status = {
    tags: ['Purges'],
    summary: 'A purge\'s status',
    ...purge,
    params: pathParams({ id: 'The purge\'s id.' }),
    querystring: queryParams({ wait: `Seconds (0 to ${MAX_WAIT_SECONDS}) to wait for a pending purge to complete before answering (Pictor extension); answered as soon as it does.` }),
    response: responses({ 200: PURGE_STATUS }),
  };
  // A request waiting for its purge would hold the listener's close for up to MAX_WAIT_SECONDS: it is answered now.
  app.addHook('preClose', (done) => {
    purges.endWaits();
    done();
  });
  app.get<{ Params: { id: string }; Querystring: { wait?: string } }>('/api/v1/purges/:id', { onRequest: requireKey(keys, 'purge'), schema: status }, async (request) => {
    const wait = waitSeconds(request.query.wait);
    const record = wait > 0 ? await purges.settled(request.params.id, wait * 1000) : await purges.get(request.params.id);
    if (!record) throw new PictorError('NOT_FOUND', `No purge has the id "${request.params.id}".`);
    const video = videoPurgeNotice(record);
    const warning = purgeWarning(record);
    const pictor = { ...(video ? { video } : {}), ...(warning ? { warning } : {}) };
    const edgeStates = await purges.edgeStates(record.id);
    return document(purgeResource(record, edgeStates), request.apiKey, Object.keys(pictor).length > 0 ? { pictor } : {});
  });
}

/** The longest a status request may wait for its purge: within any proxy's or client's usual timeout. */
const MAX_WAIT_SECONDS = 30;

function waitSeconds(value: string | undefined): number {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
    throw new PictorError('BAD_REQUEST', `The query parameter "wait" must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}; it was ${JSON.stringify(value)}.`);
  }
  return seconds;
}

/** Each edge's part of a purge, as the status document shows it. */
export function edgeStateAttributes(states: readonly EdgePurgeState[]): Record<string, unknown>[] {
  return states.map((state) => ({
    name: state.edge,
    kind: state.kind,
    state: state.state,
    vendor_id: state.vendorId,
    error: state.lastError,
    attempts: state.attempts,
    next_attempt_at: state.state === 'pending' ? new Date(state.nextAttemptAt).toISOString() : null,
  }));
}

export function purgeResource(record: PurgeRecord, edgeStates: readonly EdgePurgeState[] = []): Record<string, unknown> {
  return {
    id: record.id,
    type: 'purges',
    attributes: {
      purge_id: record.id,
      // Empty for a Source or tag purge: null, as scripts reading `url` have always got for a Source purge.
      url: record.url || null,
      source_id: record.parentSourceId ?? (record.sourceId || null),
      sub_image: record.subImage,
      match: record.match,
      tag: record.tag ?? null,
      assets: record.assets ?? null,
      status: record.status,
      origin: record.origin ?? null,
      origin_error: record.originError ?? null,
      matched: record.matched ?? null,
      generation: record.generation ?? null,
      error: record.error ?? null,
      created_at: new Date(record.createdAt).toISOString(),
      completed_at: record.completedAt === undefined ? null : new Date(record.completedAt).toISOString(),
      // Where it took effect: the cluster's nodes (applied, or fenced once their lease ran out), then the edges.
      nodes: record.report?.nodes ?? null,
      edges: record.report?.edges ?? null,
      edge_states: edgeStateAttributes(edgeStates),
    },
  };
}

interface PurgeBody {
  data: { attributes: { url?: string; tag?: string; source_id?: string | null; sub_image?: boolean; match?: 'exact' | 'prefix' } };
}

/** The attributes of a `purges` document that passed PURGE_BODY: exactly one of a URL and a tag. */
function readPurgeAttributes(body: PurgeBody): Omit<PurgeRequest, 'requestedBy'> | Omit<TagPurgeRequest, 'requestedBy'> {
  const { url, tag, source_id: sourceId, sub_image: subImage, match } = body.data.attributes;
  if (tag === undefined) {
    if (url === undefined) throw badAttributes('url', '"url" is required: the URL of the asset to purge (or "tag", to purge every asset carrying a tag).');
    return { url: url.trim(), sourceId: sourceId ?? undefined, subImage, match };
  }
  if (url !== undefined) throw badAttributes('tag', 'Give "url" or "tag", not both: a purge names one asset (or folder) by its URL, or every asset carrying a tag.');
  if (subImage !== undefined || match !== undefined) {
    const name = subImage !== undefined ? 'sub_image' : 'match';
    throw badAttributes(name, `"${name}" goes with "url", not with "tag": a tag purge covers every render that uses a tagged asset, sub-images included.`);
  }
  return { tag, sourceId: sourceId ?? undefined };
}

function badAttributes(name: string, message: string): PictorError {
  return new PictorError('BAD_REQUEST', message, { pointer: `/data/attributes/${name}` });
}
