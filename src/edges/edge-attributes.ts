import { PictorError } from '../errors.ts';
import type { NewEdge } from '../store/edge-store.ts';
import { edgeKind, edgeKindNames, type EdgeKind } from './kinds.ts';

const NAME = /^[a-z0-9][a-z0-9\-_.]{0,62}$/;
const COMMON = new Set(['name', 'kind', 'url']);

/**
 * An edge as the API, the CLI and the dashboard add it, checked once here: its name, its kind (`varnish` when
 * absent), `url` for the kinds in front of Pictor, and the settings and secrets its kind takes, by the kind's own
 * rules (kinds.ts `parse`). Anything else is refused, naming the field, so a misspelt setting is not silently dropped.
 */
export function parseEdge(attributes: unknown): NewEdge {
  const fields = (typeof attributes === 'object' && attributes !== null ? attributes : {}) as Record<string, unknown>;
  const name = checkName(fields.name);
  const kind = checkKind(fields.kind);
  const url = kind.addressed ? checkUrl(fields.url) : refuseField(fields, 'url', kind);
  for (const field of Object.keys(fields)) {
    if (!COMMON.has(field) && !(field in kind.settings) && !(field in kind.secrets)) refuseField(fields, field, kind);
  }
  const { settings, secrets } = kind.parse(fields);
  return { name, kind: kind.name, url, settings, secrets };
}

function checkName(value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new PictorError(
      'BAD_REQUEST',
      '"name" must be 1 to 63 lowercase letters, digits, "-", "_" or ".", starting with a letter or digit (e.g. "edge-1").',
      { pointer: '/data/attributes/name' },
    );
  }
  return value;
}

function checkKind(value: unknown): EdgeKind {
  const kind = value === undefined ? edgeKind('varnish') : typeof value === 'string' ? edgeKind(value) : undefined;
  if (kind === undefined) {
    const names = edgeKindNames().map((name) => `"${name}"`).join(', ');
    throw new PictorError('BAD_REQUEST', `"kind" must be one of ${names}, got ${JSON.stringify(value)}.`, { pointer: '/data/attributes/kind' });
  }
  return kind;
}

function refuseField(fields: Record<string, unknown>, field: string, kind: EdgeKind): null {
  if (fields[field] === undefined) return null;
  const takes = ['name', 'kind', ...(kind.addressed ? ['url'] : []), ...Object.keys(kind.settings), ...Object.keys(kind.secrets)];
  throw new PictorError('BAD_REQUEST', `A ${kind.name} edge does not take "${field}"; it takes ${takes.map((name) => `"${name}"`).join(', ')}.`, {
    pointer: `/data/attributes/${field}`,
  });
}

/** `http(s)://host:port`, the port written out; kept as `scheme://host:port`. */
function checkUrl(value: unknown): string {
  const problem = (): PictorError =>
    new PictorError('BAD_REQUEST', `"url" must be the edge's address as http://HOST:PORT (or https://), got ${JSON.stringify(value)}.`, {
      pointer: '/data/attributes/url',
    });
  if (typeof value !== 'string' || !/^https?:\/\/[^/?#@\s]+:\d{1,5}\/?$/i.test(value)) throw problem();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw problem();
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (Number(port) < 1 || Number(port) > 65535) throw problem();
  return `${url.protocol}//${url.hostname}:${port}`;
}
