import ipaddr from 'ipaddr.js';
import { PictorError } from '../errors.ts';
import type { EdgeSettings, NewEdge } from '../store/edge-store.ts';
import { edgeKind, edgeKindNames, type EdgeKind, type FieldRule } from './kinds.ts';

const NAME = /^[a-z0-9][a-z0-9\-_.]{0,62}$/;
const COMMON = new Set(['name', 'kind', 'url']);
const TOKEN = /^[\x21-\x7e]{1,1024}$/;
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * An edge as the API, the CLI and the dashboard add it, checked once here: its name, its kind (`varnish` when
 * absent), `url` for the kinds in front of Pictor, and the settings and secrets its kind takes (kinds.ts).
 * Anything else is refused, naming the field, so a misspelt setting is not silently dropped.
 */
export function parseEdge(attributes: unknown): NewEdge {
  const fields = (typeof attributes === 'object' && attributes !== null ? attributes : {}) as Record<string, unknown>;
  const name = checkName(fields.name);
  const kind = checkKind(fields.kind);
  const url = kind.addressed ? checkUrl(fields.url) : refuseField(fields, 'url', kind);
  const settings: EdgeSettings = {};
  const secrets: Record<string, string> = {};
  for (const field of Object.keys(fields)) {
    if (!COMMON.has(field) && !(field in kind.settings) && !(field in kind.secrets)) refuseField(fields, field, kind);
  }
  for (const [field, rule] of Object.entries(kind.settings)) {
    const value = checkField(field, rule, fields[field]);
    if (value !== undefined) settings[field] = value;
  }
  for (const [field, rule] of Object.entries(kind.secrets)) {
    const value = checkField(field, rule, fields[field]);
    if (value !== undefined) secrets[field] = String(value);
  }
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

function checkField(field: string, rule: FieldRule, value: unknown): string | boolean | undefined {
  const pointer = `/data/attributes/${field}`;
  if (value === undefined || value === null || value === '') {
    if (rule.required) throw new PictorError('BAD_REQUEST', `"${field}" is required: ${rule.about}.`, { pointer });
    return undefined;
  }
  const refuse = (shape: string): never => {
    throw new PictorError('BAD_REQUEST', `"${field}" must be ${shape} (${rule.about}).`, { pointer });
  };
  switch (rule.type) {
    case 'flag':
      return typeof value === 'boolean' ? value : refuse('true or false');
    case 'hex32':
      return typeof value === 'string' && /^[0-9a-f]{32}$/i.test(value) ? value.toLowerCase() : refuse('32 hexadecimal digits');
    case 'id':
      return typeof value === 'string' && ID.test(value) ? value : refuse('letters, digits, "-" or "_"');
    case 'token':
      return typeof value === 'string' && TOKEN.test(value) ? value : refuse('printable characters without spaces, at most 1024');
    case 'endpoint':
      return checkEndpoint(value) ?? refuse('an https:// URL (http:// only to a private or loopback address)');
  }
}

/**
 * An API endpoint: https, or http to a private or loopback address only (a stand-in, a proxy inside the
 * network) — tokens never cross the internet in clear text. Requests to it still go through the outbound guard.
 */
function checkEndpoint(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  if (url.protocol === 'https:') return url.href.replace(/\/$/, '');
  if (url.protocol !== 'http:') return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(host)) return undefined;
  return ipaddr.process(host).range() === 'unicast' ? undefined : url.href.replace(/\/$/, '');
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
