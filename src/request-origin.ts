import type { FastifyRequest } from 'fastify';

/**
 * Whether the client used https: a TLS connection, or a reverse proxy that ended TLS and says so in
 * `X-Forwarded-Proto` (the nginx of docs/production.md sets it, replacing whatever the client sent).
 *
 * Security invariant: only what Pictor answers the same request depends on it (the `Secure` flag of the
 * dashboard's cookies, the scheme of the links in an API answer), so a client claiming https can only make
 * its own cookies stricter and its own links point at https.
 */
export function cameOverHttps(request: FastifyRequest): boolean {
  if (request.protocol === 'https') return true;
  const forwarded = request.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/**
 * The origin the client addressed, for absolute links in answers (`https://admin.example.com` behind a TLS
 * proxy): a link with the listener's own `http:` would send the client, and its API key, over plain http.
 */
export function requestOrigin(request: FastifyRequest): string {
  return `${cameOverHttps(request) ? 'https' : request.protocol}://${request.host}`;
}
