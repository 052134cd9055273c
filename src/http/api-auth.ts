import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasPermission, type ApiKey, type ApiKeys, type Permission } from '../auth/api-keys.ts';
import type { RateLimitStore } from '../store/stores.ts';
import { PictorError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

/** imgix's exact wording, for a missing key and a wrong key alike. */
const UNAUTHORIZED_DETAIL = 'A valid API key is required and could not be determined.';

/**
 * An `onRequest` hook (it runs before the body is read, so an unauthenticated caller learns nothing about
 * body validation): Bearer key → permission → optional per-key rate limit.
 */
export function requireKey(keys: ApiKeys, permission: Permission, limiter?: RateLimitStore) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const key = await keys.verify(match?.[1]);
    if (!key) throw new PictorError('UNAUTHORIZED', UNAUTHORIZED_DETAIL);
    request.apiKey = key;
    if (!hasPermission(key, permission)) {
      throw new PictorError('FORBIDDEN', `This API key does not have the ${permission} permission.`);
    }
    if (limiter) {
      const wait = await limiter.take(key.id);
      if (wait > 0) {
        throw new PictorError('RATE_LIMITED', `Too many requests for this API key; retry in ${wait} s.`, { headers: { 'retry-after': String(wait) } });
      }
    }
  };
}
