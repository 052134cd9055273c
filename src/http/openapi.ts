import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Permission } from '../auth/api-keys.ts';
import { VERSION } from '../version.ts';
import { MUST } from './schema-errors.ts';

/**
 * The OpenAPI document of the Management API, generated from the route schemas that also validate the
 * requests: every route with `tags` is in it; the rest (the dashboard, `/metrics`, the 405 answers) is not.
 * Response schemas only document: the admin listener serializes with JSON.stringify (admin-server.ts), so
 * a response carries what its handler returns, never less.
 */
export const OPENAPI_PATH = '/api/v1/openapi.json';

type Schema = Record<string, unknown>;

/** Registers the generator; it sees the routes registered after it, in plugins loaded after it. */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pictor Management API',
        version: VERSION,
        description:
          'JSON:API documents in the shape of imgix\'s Management API (Purge, Sources, Assets), and Pictor\'s own resources (purge status, edges, takedowns, webhooks). ' +
          'Requests carry an API key as `Authorization: Bearer <key>`; each operation names the permission it needs.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`pictor keys create`).' } } },
      tags: [
        { name: 'Purges', description: 'Purge API: remove derivatives from every cache, durably.' },
        { name: 'Sources', description: 'Origins and their delivery settings.' },
        { name: 'Assets', description: 'The assets of a Source: metadata, additions, uploads.' },
        { name: 'Takedowns', description: 'Assets withheld for legal reasons (451), with an audit trail.' },
        { name: 'Edges', description: 'The Varnish edges that purges reach.' },
        { name: 'Webhooks', description: 'Signed notifications (Standard Webhooks) when purges end, takedowns change and assets are refreshed.' },
        { name: 'Health', description: 'Whether this node serves.' },
      ],
    },
    hideUntagged: true,
  });
  // Published without a key: it describes the API, not anything in it.
  app.get(OPENAPI_PATH, async () => app.swagger());
}

/** The `security` and the sentence naming the permission, for an operation behind an API key. */
export function secured(permission: Permission): { security: Record<string, string[]>[]; description: string } {
  return { security: [{ apiKey: [] }], description: `Needs an API key with the \`${permission}\` permission.` };
}

const JSONAPI_VERSION = { type: 'object', properties: { version: { type: 'string', const: '1.0' } } };

/** `meta` of every answer: who called (imgix's `authentication`) and the server. */
const META = {
  type: 'object',
  properties: {
    authentication: { type: 'object', properties: { authorized: { type: 'boolean' }, tag: { type: ['string', 'null'], description: 'The API key\'s name.' } } },
    server: { type: 'object', properties: { version: { type: 'string' } } },
  },
};

/** A JSON:API resource object of `type` with these attributes. */
export function resource(type: string, attributes: Schema): Schema {
  return {
    type: 'object',
    required: ['id', 'type', 'attributes'],
    properties: { id: { type: 'string' }, type: { type: 'string', const: type }, attributes: { type: 'object', properties: attributes } },
  };
}

/** A successful answer: `data` (one resource or a list), `meta` with the extra members given, `links` if given. */
export function successDocument(data: Schema, extra: { meta?: Schema; links?: boolean } = {}): Schema {
  const link = { type: ['string', 'null'] };
  return {
    type: 'object',
    required: ['data', 'jsonapi', 'meta'],
    properties: {
      data,
      included: { type: 'array', maxItems: 0 },
      jsonapi: JSONAPI_VERSION,
      meta: { ...META, properties: { ...META.properties, ...extra.meta } },
      ...(extra.links && { links: { type: 'object', properties: { self: link, first: link, prev: link, next: link, last: link } } }),
    },
  };
}

/** The error document every failure answers (jsonapi.ts `errorDocument`). */
export const ERROR_DOCUMENT: Schema = {
  type: 'object',
  description: 'What went wrong, for a person to read (`detail`), and the member at fault (`source.pointer`) when there is one.',
  required: ['errors', 'jsonapi', 'meta'],
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['detail', 'id', 'status', 'title'],
        properties: {
          detail: { type: 'string' },
          id: { type: 'string' },
          status: { type: 'string', description: 'The HTTP status, as a string.' },
          title: { type: 'string' },
          source: { type: 'object', properties: { pointer: { type: 'string', description: 'A JSON Pointer into the request document.' } } },
          meta: { type: 'object' },
        },
      },
    },
    jsonapi: JSONAPI_VERSION,
    meta: META,
  },
};

/** Response schemas: the given successes, and the error document for every failure. */
export function responses(successes: Record<number, Schema | null>): Record<string, Schema> {
  const documented: Record<string, Schema> = {};
  for (const [status, schema] of Object.entries(successes)) {
    documented[status] = schema === null ? { type: 'null', description: 'No content.' } : { description: 'Success.', ...schema };
  }
  return { ...documented, '4xx': { description: 'The request was refused.', ...ERROR_DOCUMENT }, '5xx': { description: 'Pictor could not do it now.', ...ERROR_DOCUMENT } };
}

/**
 * The body of a write: a JSON:API document whose `data` has this `type` and `attributes`. `example` shows the
 * document in messages ("The body must be a JSON:API document: …").
 */
export function requestDocument(type: string, example: string, data: { attributes: Schema; requireAttributes: boolean; id?: Schema }): Schema {
  return {
    type: 'object',
    [MUST]: `a JSON:API document: ${example}`,
    required: ['data'],
    properties: {
      data: {
        type: 'object',
        description: `The JSON:API document's resource object: ${example}.`,
        [MUST]: `an object: the JSON:API document is ${example}`,
        required: data.requireAttributes ? ['type', 'attributes'] : ['type'],
        properties: {
          type: { type: 'string', const: type, description: 'The resource type; JSON:API requires it.' },
          ...(data.id && { id: data.id }),
          attributes: data.attributes,
        },
      },
    },
  };
}

/** Path parameters, all strings. */
export function pathParams(params: Record<string, string>): Schema {
  const properties = Object.fromEntries(Object.entries(params).map(([name, description]) => [name, { type: 'string', description }]));
  return { type: 'object', required: Object.keys(params), properties };
}

/** Query parameters, each a string given once; what the value means is checked by the route. */
export function queryParams(params: Record<string, string>): Schema {
  const properties = Object.fromEntries(Object.entries(params).map(([name, description]) => [name, { type: 'string', description }]));
  return { type: 'object', properties };
}
