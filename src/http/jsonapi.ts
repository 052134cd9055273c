import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PictorError } from '../errors.ts';
import { VERSION } from '../version.ts';

/** JSON:API documents in imgix's Management API shape (envelope, `meta`, error objects). */
export const JSONAPI_CONTENT_TYPE = 'application/vnd.api+json';

export interface Caller {
  name: string;
}

export function meta(caller: Caller | undefined): Record<string, unknown> {
  return {
    authentication: {
      authorized: caller !== undefined,
      clientId: null,
      mode: 'PUBLIC_APIKEY',
      modeTitle: 'Public API Key',
      tag: caller?.name ?? null,
      user: null,
    },
    server: { commit: 'production', status: { healthy: true, read_only: false, tombstone: false }, version: VERSION },
  };
}

export function document(data: unknown, caller: Caller | undefined, extraMeta: Record<string, unknown> = {}): Record<string, unknown> {
  return { data, included: [], jsonapi: { version: '1.0' }, meta: { ...meta(caller), ...extraMeta } };
}

export function errorDocument(error: PictorError, caller: Caller | undefined): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    detail: error.message,
    id: randomBytes(16).toString('hex'),
    meta: {},
    status: String(error.status),
    title: error.title,
  };
  if (error.pointer) entry.source = { pointer: error.pointer };
  return { errors: [entry], jsonapi: { version: '1.0' }, meta: meta(caller) };
}

/**
 * A route that only answers 405. It answers in `onRequest`, so the body of a refused method is never read;
 * the handler is never reached.
 */
export function methodNotAllowed(allow: string, message: string) {
  return {
    onRequest: async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      reply.header('allow', allow);
      throw new PictorError('METHOD_NOT_ALLOWED', message);
    },
    handler: async (): Promise<never> => {
      throw new PictorError('METHOD_NOT_ALLOWED', message);
    },
  };
}
