import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { PictorError } from '../errors.ts';

/** The API's documents are small; a purge URL alone is bounded far below this (purge-routes.ts). */
export const API_BODY_LIMIT = 64 * 1024;

/** Form bodies: at most this many fields, nested at most this deep (`data[attributes][url]` is 3). */
const FORM_MAX_FIELDS = 64;
const FORM_MAX_DEPTH = 4;

/**
 * Keys that reach an object's prototype when assigned (`obj['__proto__'] = …` replaces it; a later merge of
 * `constructor.prototype` reaches the shared Object.prototype). A decoder of untrusted keys never creates them.
 */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The API reads JSON:API (`application/vnd.api+json`), plain JSON, and the form encoding some CMS plugins
 * send (`data[attributes][url]=…&data[type]=purges`). Anything else is 415; malformed JSON is a 400.
 *
 * Security invariants:
 * - A body is parsed only after the route's `onRequest` hooks passed (the API key or the session is
 *   checked there), and never for an unknown route or a refused method (admin-server.ts answers those in
 *   `onRequest`), so an anonymous caller never reaches a decoder.
 * - No decoder creates `__proto__`, `constructor` or `prototype` keys: JSON with them is refused
 *   (secure-json-parse), form fields naming them are refused.
 * - Bodies are UTF-8: another declared charset is a 415, invalid UTF-8 a 400.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/vnd.api+json'], { parseAs: 'buffer', bodyLimit: API_BODY_LIMIT }, (request, body, done) => {
    try {
      done(null, parseJson(decodeUtf8(request, body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: API_BODY_LIMIT }, (request, body, done) => {
    try {
      done(null, formToObject(new URLSearchParams(decodeUtf8(request, body as Buffer))));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** The body as text, refusing any declared charset but UTF-8 (JSON is UTF-8 by RFC 8259) and invalid bytes. */
export function decodeUtf8(request: FastifyRequest, body: Buffer): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new PictorError('UNSUPPORTED_MEDIA_TYPE', `Send the body in UTF-8; the charset "${charset}" is not supported.`);
  }
  try {
    return utf8.decode(body);
  } catch {
    throw new PictorError('BAD_REQUEST', 'The request body is not valid UTF-8.');
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') throw new PictorError('BAD_REQUEST', 'The request body is empty; send a JSON:API document.');
  try {
    return secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = (error as Error).message;
    if (/prototype/i.test(message)) throw new PictorError('BAD_REQUEST', 'The request body may not contain the keys "__proto__" or "constructor.prototype".');
    throw new PictorError('BAD_REQUEST', `The request body is not valid JSON (${message}).`);
  }
}

/** `data[attributes][url]=x` → `{ data: { attributes: { url: 'x' } } }`; `true`/`false` become booleans. */
export function formToObject(form: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let fields = 0;
  for (const [name, raw] of form) {
    if (++fields > FORM_MAX_FIELDS) throw new PictorError('BAD_REQUEST', `The form has more than ${FORM_MAX_FIELDS} fields.`);
    const path = name.replace(/\]/g, '').split('[');
    if (path.length > FORM_MAX_DEPTH) throw new PictorError('BAD_REQUEST', `The form field "${name.slice(0, 100)}" is nested too deeply.`);
    const unsafe = path.find((part) => UNSAFE_KEYS.has(part));
    if (unsafe !== undefined) throw new PictorError('BAD_REQUEST', `The form field name may not contain "${unsafe}".`);
    let node = root;
    for (const part of path.slice(0, -1)) {
      const next = Object.hasOwn(node, part) ? node[part] : undefined;
      node = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : (node[part] = {});
    }
    node[path[path.length - 1]!] = raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return root;
}
