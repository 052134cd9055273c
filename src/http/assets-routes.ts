import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import { ASSET_LIMITS, assetId, assetResource, encodeCursor, parseAssetQuery, pathFromUrl, readAssetPatch } from '../assets/asset-document.ts';
import type { AssetService } from '../assets/asset-service.ts';
import { PictorError } from '../errors.ts';
import type { AssetRecord } from '../store/asset-store.ts';
import type { RateLimitStore } from '../store/stores.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, queryParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';
import { requestOrigin } from '../request-origin.ts';
import { MUST } from './schema-errors.ts';

/** Largest upload; the route's own body limit (every other API body stays within API_BODY_LIMIT). */
export const MAX_UPLOAD_BYTES = 30 * 1024 * 1024;

export interface AssetsRoutesOptions {
  /** Refreshes per key (`assets/refresh`): 10 a minute. */
  refreshLimiter: RateLimitStore;
  /** `--max-input-bytes`: a larger upload could never be served. */
  maxInputBytes: number;
}

const ASSETS = '/api/v1/sources/:source_id/assets';

const TEXT_LIST = {
  type: ['array', 'null'],
  maxItems: ASSET_LIMITS.listItems,
  items: { type: 'string', pattern: '\\S', maxLength: ASSET_LIMITS.item, [MUST]: 'a non-empty string' },
};

/** What people write about an asset; the other attributes are read-only (sent back as read, ignored). */
const EDITABLE = {
  name: { type: ['string', 'null'], maxLength: ASSET_LIMITS.name },
  description: { type: ['string', 'null'], maxLength: ASSET_LIMITS.description },
  tags: TEXT_LIST,
  categories: TEXT_LIST,
  custom_fields: {
    type: ['object', 'null'],
    maxProperties: ASSET_LIMITS.customFields,
    additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: ASSET_LIMITS.customFieldValue, [MUST]: 'a string, a number, true, false or null' },
  },
};

const READ_ONLY = {
  origin_path: { type: 'string' },
  source_id: { type: 'string' },
  media_kind: { type: ['string', 'null'] },
  media_width: { type: ['integer', 'null'] },
  media_height: { type: ['integer', 'null'] },
  file_size: { type: ['integer', 'null'] },
  content_type: { type: ['string', 'null'] },
  date_created: { type: 'integer', description: 'Unix seconds.' },
  date_modified: { type: 'integer', description: 'Unix seconds.' },
  video_status: { type: ['string', 'null'] },
};

const ASSET = resource('assets', { ...EDITABLE, ...READ_ONLY });

/** The key names of custom fields and the asset's id are checked in asset-document.ts. */
const PATCH_BODY = requestDocument('assets', '{"data": {"type": "assets", "attributes": {…}}}', {
  requireAttributes: false,
  id: { type: 'string', description: 'When sent, the asset\'s id (`<source_id>/<path>`).' },
  attributes: {
    type: 'object',
    additionalProperties: false,
    properties: { ...EDITABLE, ...Object.fromEntries(Object.entries(READ_ONLY).map(([name, schema]) => [name, { ...schema, readOnly: true }])) },
  },
});

const SOURCE_ID = pathParams({ source_id: 'The Source\'s id.' });
const ONE = pathParams({ source_id: 'The Source\'s id.', '*': 'The asset\'s origin path, percent-encoded once as in a render URL.' });
const ASSET_DOCUMENT = successDocument(ASSET);

/**
 * imgix's Assets API (Asset Manager), on the admin listener: reading needs `assets-browse`, everything else
 * `assets-edit` (which implies browse). An asset is named by the rest of the URL, its origin path percent-
 * encoded once as in a render URL (`…/assets/photos/a%20b.jpg`, or `…/assets/%2Fphotos%2Fa%20b.jpg`).
 */
export function assetsRoutes(app: FastifyInstance, assets: AssetService, keys: ApiKeys, options: AssetsRoutesOptions): void {
  const browse = { onRequest: requireKey(keys, 'assets-browse') };
  const edit = { onRequest: requireKey(keys, 'assets-edit') };
  const reading = { tags: ['Assets'], ...secured('assets-browse') };
  const editing = { tags: ['Assets'], ...secured('assets-edit') };
  const uploadLimit = Math.min(MAX_UPLOAD_BYTES, options.maxInputBytes);

  const list = {
    ...reading,
    summary: 'List a Source\'s assets',
    params: SOURCE_ID,
    querystring: queryParams({
      'page[cursor]': 'Where the previous page ended: its meta.cursor.next.',
      'page[size]': 'Assets a page, 1 to 100.',
      'filter[origin_path]': 'One asset, or every asset under a folder (ending with "/").',
      'filter[media_kind]': 'IMAGE, VIDEO, …',
      sort: 'The order, "-" before the field for descending.',
    }),
    response: responses({ 200: successDocument({ type: 'array', items: ASSET }, { meta: { cursor: { type: 'object' } }, links: true }) }),
  };
  app.get<{ Params: { source_id: string } }>(ASSETS, { ...browse, schema: list }, async (request) => {
    const sourceId = request.params.source_id;
    const { listing, cursor } = parseAssetQuery(request.query as Record<string, unknown>);
    const rows = await assets.list({ ...listing, sourceId, limit: listing.limit + 1 });
    const hasMore = rows.length > listing.limit;
    const page = rows.slice(0, listing.limit);
    const next = hasMore ? encodeCursor(page.at(-1)!, listing.sort) : null;
    const meta = { cursor: { current: cursor, next, hasMore, pageSize: listing.limit } };
    const links = { self: listUrl(request), next: next === null ? null : listUrl(request, next) };
    return { ...document(page.map(assetResource), request.apiKey, meta), links };
  });

  const read = { ...reading, summary: 'An asset', params: ONE, response: responses({ 200: ASSET_DOCUMENT }) };
  app.get<{ Params: { source_id: string } }>(`${ASSETS}/*`, { ...browse, schema: read }, async (request) =>
    document(assetResource(await assets.get(request.params.source_id, assetPath(request))), request.apiKey),
  );

  const change = { ...editing, summary: 'Change what is written about an asset', params: ONE, body: PATCH_BODY, response: responses({ 200: ASSET_DOCUMENT }) };
  app.patch<{ Params: { source_id: string } }>(`${ASSETS}/*`, { ...edit, schema: change }, async (request) => {
    const sourceId = request.params.source_id;
    const path = assetPath(request);
    const changes = readAssetPatch(request.body, assetId({ sourceId, originPath: path }));
    return document(assetResource(await assets.edit(sourceId, path, changes)), request.apiKey);
  });

  const add = { ...editing, summary: 'Add an asset that is already at the origin', params: ONE, response: responses({ 202: ASSET_DOCUMENT }) };
  app.post<{ Params: { source_id: string } }>(`${ASSETS}/add/*`, { ...edit, schema: add }, async (request, reply) => {
    const record = await assets.add(request.params.source_id, assetPath(request, 'add/'));
    return reply.status(202).send(document(assetResource(record), request.apiKey));
  });

  app.post<{ Params: { source_id: string } }>(
    `${ASSETS}/refresh/*`,
    {
      onRequest: requireKey(keys, 'assets-edit', options.refreshLimiter),
      schema: { ...editing, summary: 'Read an asset again from the origin', params: ONE, response: responses({ 200: ASSET_DOCUMENT }) },
    },
    async (request) => {
      const record = await assets.refresh(request.params.source_id, assetPath(request, 'refresh/'), request.apiKey?.name);
      return document(assetResource(record), request.apiKey);
    },
  );

  // Uploads take raw bytes of any type, up to their own limit: in a scope of their own, so no other route
  // reads anything but the API's small JSON:API bodies.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: uploadLimit }, (_request, body, done) => done(null, body));
    scope.setErrorHandler(async (error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        throw new PictorError('PAYLOAD_TOO_LARGE', `An upload may have at most ${formatMb(uploadLimit)}.`);
      }
      throw error;
    });
    scope.post<{ Params: { source_id: string }; Querystring: Record<string, unknown> }>(
      '/api/v1/sources/:source_id/upload/*',
      {
        ...edit,
        bodyLimit: uploadLimit,
        schema: {
          ...editing,
          summary: 'Upload a file to the Source\'s origin',
          description: `${editing.description} The body is the file's bytes, its type the Content-Type. Only media are taken, judged by `
            + 'their bytes: an image, a video, audio or a PDF, with a Content-Type and a name that fit those bytes (else 415); each name '
            + 'at most 255 bytes and the path at most 1024 (else 400). A symbolic link at the path is never replaced (403).',
          params: pathParams({ source_id: 'The Source\'s id.', '*': 'The path to write, percent-encoded once.' }),
          querystring: queryParams({ overwrite: '`true` replaces a file already there.' }),
          response: responses({ 200: ASSET_DOCUMENT, 201: ASSET_DOCUMENT }),
        },
      },
      async (request, reply) => {
        const sourceId = request.params.source_id;
        const path = assetPath(request, '', /^\/api\/v1\/sources\/[^/]+\/upload\/(.*)$/);
        const file = { body: uploadBody(request), contentType: uploadType(request), overwrite: overwriteFlag(request.query.overwrite) };
        const { record, created } = await assets.upload(sourceId, path, file, request.apiKey?.name);
        reply.status(created ? 201 : 200).header('location', assetLocation(record));
        return document(assetResource(record), request.apiKey);
      },
    );
  });

  const refused = (allow: string, message: string) => methodNotAllowed(allow, message);
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: ASSETS, ...refused('GET', 'List assets with GET; add one with POST …/assets/add/<path>, or upload it.') });
  app.route({ method: ['POST', 'PUT', 'DELETE'], url: `${ASSETS}/*`, ...refused('GET, PATCH', 'Assets are read with GET and changed with PATCH; POST goes to …/assets/add/<path> or …/assets/refresh/<path>.') });
  app.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url: '/api/v1/sources/:source_id/upload/*', ...refused('POST', 'Upload a file with POST and its bytes as the body.') });
}

/** The canonical path at the end of the raw URL (never the router's decoding): after `…/assets/<marker>`. */
function assetPath(request: FastifyRequest, marker = '', pattern = /^\/api\/v1\/sources\/[^/]+\/assets\/(.*)$/): string {
  const rest = pattern.exec(request.url.split('?')[0]!)?.[1] ?? '';
  return pathFromUrl(rest.slice(marker.length));
}

function assetLocation(record: AssetRecord): string {
  return `/api/v1/sources/${record.sourceId}/assets${record.originPath}`;
}

function uploadBody(request: FastifyRequest): Buffer {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new PictorError('BAD_REQUEST', 'The upload is empty: send the file\'s bytes as the request body.');
  return body;
}

/** The file's type, as sent: a form or a missing type is refused (the body is stored as it is). */
function uploadType(request: FastifyRequest): string {
  const type = request.headers['content-type']?.trim();
  if (!type) throw new PictorError('UNSUPPORTED_MEDIA_TYPE', 'Send the file\'s type as Content-Type (e.g. image/jpeg); it is stored with the file.');
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(type) || type.length > 255) throw new PictorError('UNSUPPORTED_MEDIA_TYPE', `"${type.slice(0, 100)}" is not a media type (type/subtype).`);
  if (/^(multipart\/|application\/x-www-form-urlencoded)/i.test(type)) {
    throw new PictorError('UNSUPPORTED_MEDIA_TYPE', 'Send the file\'s own bytes as the body, with its type as Content-Type, not a form.');
  }
  return type;
}

function overwriteFlag(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new PictorError('BAD_REQUEST', `"overwrite" must be true or false, got ${JSON.stringify(value)}.`);
}

/** The list's URL (filters, sort and size kept), with another cursor if given. */
function listUrl(request: FastifyRequest, cursor?: string): string {
  const url = new URL(request.url, requestOrigin(request));
  if (cursor !== undefined) url.searchParams.set('page[cursor]', cursor);
  return url.toString();
}

function formatMb(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MB` : `${bytes} bytes`;
}
