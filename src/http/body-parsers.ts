import type { FastifyInstance } from 'fastify';
import { PictorError } from '../errors.ts';

const BODY_LIMIT = 1024 * 1024;

/**
 * The API reads JSON:API (`application/vnd.api+json`), plain JSON, and the form encoding some CMS plugins
 * send (`data[attributes][url]=…&data[type]=purges`). Anything else is 415; malformed JSON is a 400.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/vnd.api+json'], { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(new PictorError('BAD_REQUEST', 'The request body is empty; send a JSON:API document.'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new PictorError('BAD_REQUEST', `The request body is not valid JSON (${(error as Error).message}).`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    done(null, formToObject(new URLSearchParams(String(body))));
  });
}

/** `data[attributes][url]=x` → `{ data: { attributes: { url: 'x' } } }`; `true`/`false` become booleans. */
function formToObject(form: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, raw] of form) {
    const path = name.replace(/\]/g, '').split('[');
    let node = root;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      node = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : (node[part] = {});
    }
    node[path[path.length - 1]!] = raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return root;
}
