import { isIP } from 'node:net';
import { PictorError } from '../../errors.ts';

/** The attributes of an edge as the API received them (`data.attributes`). */
export type EdgeAttributes = Record<string, unknown>;

/** Credentials and ids go into HTTP headers: visible ASCII only, so none can split a header or add one. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;
const MAX_SECRET_CHARS = 512;

function bad(field: string, message: string): PictorError {
  return new PictorError('BAD_REQUEST', message, { pointer: `/data/attributes/${field}` });
}

/** The attributes object itself, or a 400 pointing at it. */
export function attributesOf(attributes: unknown): EdgeAttributes {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    throw new PictorError('BAD_REQUEST', 'The edge attributes must be an object.', { pointer: '/data/attributes' });
  }
  return attributes as EdgeAttributes;
}

/** A required id matching `pattern`; `shape` says in words what a valid one looks like. */
export function requiredId(attributes: EdgeAttributes, field: string, pattern: RegExp, shape: string): string {
  const value = attributes[field];
  if (value === undefined || value === null || value === '') throw bad(field, `${field} is required: ${shape}.`);
  if (typeof value !== 'string' || !pattern.test(value.trim())) throw bad(field, `${field} must be ${shape}.`);
  return value.trim();
}

/** A required secret (API token, secret key): a string of visible ASCII characters, never echoed in a message. */
export function requiredSecret(attributes: EdgeAttributes, field: string, what: string): string {
  const value = attributes[field];
  if (value === undefined || value === null || value === '') throw bad(field, `${field} is required: ${what}.`);
  if (typeof value !== 'string') throw bad(field, `${field} must be a string: ${what}.`);
  const trimmed = value.trim();
  if (trimmed.length > MAX_SECRET_CHARS || !HEADER_SAFE.test(trimmed)) {
    throw bad(field, `${field} must be ${what}: at most ${MAX_SECRET_CHARS} visible ASCII characters, without spaces.`);
  }
  return trimmed;
}

export function optionalBoolean(attributes: EdgeAttributes, field: string): boolean | undefined {
  const value = attributes[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw bad(field, `${field} must be true or false.`);
  return value;
}

/**
 * The optional `endpoint`, which stands in for the vendor's API (a local stand-in, a proxy the operator must go
 * through). Security: the API token travels in a header to this address, so plain `http:` is accepted only for
 * a loopback host (a stand-in beside Pictor); anywhere else it must be `https:`. The outbound guard still
 * decides, when connecting, whether the address may be reached at all.
 */
export function optionalEndpoint(attributes: EdgeAttributes): string | undefined {
  const value = attributes['endpoint'];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw bad('endpoint', 'endpoint must be an absolute URL such as https://api.example.com/.');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw bad('endpoint', `endpoint must be an absolute URL such as https://api.example.com/, not ${JSON.stringify(value)}.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw bad('endpoint', 'endpoint must be an https: URL (http: is accepted only for a loopback address).');
  }
  if (url.username !== '' || url.password !== '') throw bad('endpoint', 'endpoint must not carry credentials; the token is given in its own field.');
  if (url.search !== '' || url.hash !== '') throw bad('endpoint', 'endpoint must not have a query or a fragment.');
  return url.href.replace(/\/+$/, '');
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
