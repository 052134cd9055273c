import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasPermission, type ApiKeys } from '../auth/api-keys.ts';
import { PictorError } from '../errors.ts';
import { sourceResource } from '../sources/source-document.ts';
import { parseSourceQuery, parseSparseFields } from '../sources/source-query.ts';
import { FILTER_FIELDS, type SourceRecord } from '../store/source-record.ts';
import type { SourceService } from '../sources/source-service.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, queryParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';
import { requestOrigin } from '../request-origin.ts';
import { MUST } from './schema-errors.ts';

const FIELDS = { 'fields[sources]': 'The attributes to return, comma-separated (`deployment.<field>` for nested ones).' };

const ATTRIBUTES = {
  name: { type: 'string', description: 'The Source\'s name.' },
  enabled: { type: 'boolean' },
  deployment: { type: 'object', [MUST]: 'an object', description: 'The origin (`type` and its own fields) and the delivery settings.' },
};

/** The envelope and the attribute types; the fields of `deployment` and the rules between them are source-document.ts's. */
const sourceBody = (mode: 'create' | 'update') =>
  requestDocument('sources', '{"data": {"type": "sources", "attributes": {…}}}', {
    requireAttributes: false,
    id: { type: 'string', description: mode === 'create' ? 'Not sent: ids are assigned by Pictor.' : 'When sent, the id in the URL.' },
    attributes: {
      type: 'object',
      ...(mode === 'create' && { required: ['name', 'deployment'] }),
      properties: {
        ...ATTRIBUTES,
        ...(mode === 'update' && { purge_derivatives: { type: 'boolean', description: 'Purge every derivative of the Source once the change is saved (needs the `purge` permission too).' } }),
      },
    },
  });

const SOURCE = resource('sources', {
  ...ATTRIBUTES,
  deployment_status: { type: 'string', enum: ['deployed', 'disabled'] },
  date_deployed: { type: 'integer', description: 'Unix seconds.' },
  secure_url_token: { type: 'string', description: 'The signing token, on Sources with `secure_url_enabled`.' },
});

const ID = pathParams({ id: 'The Source\'s id.' });

/**
 * imgix's Sources resource: `GET|POST /api/v1/sources`, `GET|PATCH /api/v1/sources/:id`, all needing the
 * `sources` permission (or `admin`). Lists page from 0 (`page[number]`, `page[size]`) and carry both
 * `meta.pagination` and JSON:API `links`. There is no DELETE, as at imgix: disable with `enabled: false`.
 */
export function sourcesRoutes(app: FastifyInstance, sources: SourceService, keys: ApiKeys): void {
  const onRequest = requireKey(keys, 'sources');
  const doc = { tags: ['Sources'], ...secured('sources') };

  const list = {
    ...doc,
    summary: 'List Sources',
    querystring: queryParams({
      'page[number]': 'The page, from 0.',
      'page[size]': 'Sources a page, 1 to 100.',
      sort: 'name, date_deployed or enabled, comma-separated; "-" before a field for descending.',
      ...FIELDS,
      ...Object.fromEntries(FILTER_FIELDS.map((field) => [`filter[${field}]`, 'Only the Sources whose field has this value.'])),
    }),
    response: responses({ 200: successDocument({ type: 'array', items: SOURCE }, { meta: { pagination: { type: 'object' } }, links: true }) }),
  };
  app.get('/api/v1/sources', { onRequest, schema: list }, async (request) => {
    const query = parseSourceQuery(request.query as Record<string, unknown>);
    const { records, totalRecords } = await sources.list(query);
    const { number, size } = query.page;
    const totalPages = Math.ceil(totalRecords / size);
    const hasNextPage = number + 1 < totalPages;
    const hasPreviousPage = number > 0;
    const pagination = {
      currentPage: number,
      hasNextPage,
      hasPreviousPage,
      nextPage: hasNextPage ? number + 1 : null,
      previousPage: hasPreviousPage ? number - 1 : null,
      pageSize: size,
      totalPages,
      totalRecords,
    };
    const link = (page: number | null): string | null => (page === null ? null : pageUrl(request, page, size));
    const links = {
      self: link(number),
      first: link(0),
      prev: link(pagination.previousPage),
      next: link(pagination.nextPage),
      last: link(Math.max(totalPages - 1, 0)),
    };
    const data = records.map((record) => sourceResource(record, query.fields));
    return { ...document(data, request.apiKey, { pagination }), links };
  });

  const create = { ...doc, summary: 'Create a Source', querystring: queryParams(FIELDS), body: sourceBody('create'), response: responses({ 201: successDocument(SOURCE) }) };
  app.post('/api/v1/sources', { onRequest, schema: create }, async (request, reply) => {
    const fields = parseSparseFields(request.query as Record<string, unknown>);
    const record = await sources.create(readSourceDocument(request.body, undefined));
    reply.status(201).header('location', `/api/v1/sources/${record.id}`);
    return document(sourceResource(record, fields), request.apiKey, await warningMeta(sources, record));
  });

  const read = { ...doc, summary: 'A Source', params: ID, querystring: queryParams(FIELDS), response: responses({ 200: successDocument(SOURCE) }) };
  app.get<{ Params: { id: string } }>('/api/v1/sources/:id', { onRequest, schema: read }, async (request) => {
    const fields = parseSparseFields(request.query as Record<string, unknown>);
    return document(sourceResource(await sources.require(request.params.id), fields), request.apiKey);
  });

  const update = { ...doc, summary: 'Change a Source', params: ID, querystring: queryParams(FIELDS), body: sourceBody('update'), response: responses({ 200: successDocument(SOURCE) }) };
  app.patch<{ Params: { id: string } }>('/api/v1/sources/:id', { onRequest, schema: update }, async (request) => {
    const fields = parseSparseFields(request.query as Record<string, unknown>);
    await sources.require(request.params.id);
    const attributes = readSourceDocument(request.body, request.params.id);
    // Purging on save is a purge: a key that may edit Sources but not purge may not purge this way either.
    if (isObject(attributes) && attributes.purge_derivatives === true && !hasPermission(request.apiKey!, 'purge')) {
      throw new PictorError('FORBIDDEN', '"purge_derivatives" purges the Source: this API key does not have the purge permission.', {
        pointer: '/data/attributes/purge_derivatives',
      });
    }
    const record = await sources.update(request.params.id, attributes);
    return document(sourceResource(record, fields), request.apiKey, await warningMeta(sources, record));
  });

  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/api/v1/sources', ...methodNotAllowed('GET, POST', 'List Sources with GET, create one with POST.') });
  app.route({
    method: ['PUT', 'POST', 'DELETE'],
    url: '/api/v1/sources/:id',
    ...methodNotAllowed('GET, PATCH', 'Sources are changed with PATCH and cannot be deleted; disable one with PATCH {"enabled": false}.'),
  });
}

/** `meta.pictor.warning` of a saved Source whose origin the outbound guard will refuse (the save stands). */
async function warningMeta(sources: SourceService, record: SourceRecord): Promise<Record<string, unknown>> {
  const warning = await sources.outboundWarning(record);
  return warning === undefined ? {} : { pictor: { warning } };
}

/**
 * `{"data": {"type": "sources", "attributes": {…}}}`: `type` must be `sources`; on PATCH an
 * `id`, when present, must be the one in the URL (on POST ids are Pictor's to assign). Returns the attributes.
 */
function readSourceDocument(body: unknown, id: string | undefined): unknown {
  if (!isObject(body) || !isObject(body.data)) {
    throw new PictorError('BAD_REQUEST', 'The body must be a JSON:API document: {"data": {"type": "sources", "attributes": {…}}}.', { pointer: '/data' });
  }
  const { data } = body;
  if (data.type !== 'sources') {
    const got = data.type === undefined ? 'it is missing' : `got ${JSON.stringify(data.type)}`;
    throw new PictorError('BAD_REQUEST', `"data.type" must be "sources" (JSON:API requires it), ${got}.`, { pointer: '/data/type' });
  }
  if (id === undefined && data.id !== undefined) {
    throw new PictorError('BAD_REQUEST', 'Source ids are assigned by Pictor; send "data" without an "id".', { pointer: '/data/id' });
  }
  if (id !== undefined && data.id !== undefined && data.id !== id) {
    throw new PictorError('BAD_REQUEST', `"data.id" (${JSON.stringify(data.id)}) must match the id in the URL ("${id}").`, { pointer: '/data/id' });
  }
  return id !== undefined && data.attributes === undefined ? {} : data.attributes;
}

/** The same list URL (filters, sort, fields kept) for another page. */
function pageUrl(request: FastifyRequest, page: number, size: number): string {
  const url = new URL(request.url, requestOrigin(request));
  url.searchParams.set('page[number]', String(page));
  url.searchParams.set('page[size]', String(size));
  return url.toString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
