/**
 * A stand-in for Fastly's purge API, as documented at https://developer.fastly.com/reference/api/purging/ and
 * https://developer.fastly.com/learning/concepts/purging/ (read 2026-12-07).
 *
 * - `POST /service/{service_id}/purge/{key}` (one key) and `POST /service/{service_id}/purge` with the keys in
 *   a JSON body `{"surrogate_keys":[…]}` or a `Surrogate-Key: k1 k2` header, at most 256 keys.
 * - `Fastly-Key: <token>`; `Fastly-Soft-Purge: 1` marks the content stale instead of removing it.
 * - Answers: the batch form maps each key to a purge id; the single form is `{"status":"ok","id":…}`; errors
 *   are `{"msg","detail"}` (401 for a missing or wrong token, 404 for an unknown service, 400 for a bad body).
 * - Rate limit: the reference gives no figure for purges, so the bucket is the test's choice (generous by
 *   default); past it `429` with Fastly's `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset` (Unix s).
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { sendJson, startStandInServer, TokenBucket, type RecordedRequest, type StandInServer } from './stand-in-server.ts';

export const FASTLY_MAX_KEYS = 256;

export interface FastlyStandInOptions {
  serviceId: string;
  apiToken: string;
  bucket?: { size: number; refillPerSecond: number };
}

export interface FastlyStandIn extends StandInServer {
  /** The `endpoint` to give the driver. */
  endpoint: string;
  /** Every key purged so far, with whether it was a soft purge. */
  purged: { key: string; soft: boolean }[];
}

const newPurgeId = (): string => `${Date.now()}-${randomBytes(6).toString('hex')}`;

export async function startFastlyStandIn(options: FastlyStandInOptions): Promise<FastlyStandIn> {
  const bucket = new TokenBucket(options.bucket?.size ?? 1000, options.bucket?.refillPerSecond ?? 100);
  const purged: { key: string; soft: boolean }[] = [];

  const handle = (request: RecordedRequest, response: http.ServerResponse): void => {
    const route = /^\/service\/([^/]+)\/purge(?:\/([^/]+))?$/.exec(request.path);
    if (route === null || request.method !== 'POST') {
      return sendJson(response, 404, { msg: 'Record not found', detail: `No route for ${request.path}` });
    }
    if (request.headers['fastly-key'] !== options.apiToken) return sendJson(response, 401, { msg: 'Provided credentials are missing or invalid' });
    if (route[1] !== options.serviceId) return sendJson(response, 404, { msg: 'Record not found', detail: `Cannot find service '${route[1]}'` });
    if (!bucket.take()) {
      const reset = Math.ceil(Date.now() / 1000) + bucket.retryAfterSeconds();
      return sendJson(response, 429, { msg: 'Too many requests', detail: 'Rate limit exceeded' }, {
        'fastly-ratelimit-remaining': '0',
        'fastly-ratelimit-reset': String(reset),
      });
    }
    const soft = request.headers['fastly-soft-purge'] === '1';
    if (route[2] !== undefined) {
      purged.push({ key: decodeURIComponent(route[2]), soft });
      return sendJson(response, 200, { status: 'ok', id: newPurgeId() });
    }
    const keys = keysOf(request);
    if (typeof keys === 'string') return sendJson(response, 400, { msg: 'Bad request', detail: keys });
    const ids: Record<string, string> = {};
    for (const key of keys) {
      ids[key] = newPurgeId();
      purged.push({ key, soft });
    }
    sendJson(response, 200, ids);
  };

  const outage = (status: number, response: http.ServerResponse): void => sendJson(response, status, { msg: 'Service unavailable' });
  const server = await startStandInServer(handle, outage);
  return { ...server, endpoint: server.origin, purged };
}

/** The keys of a batch purge (body or header), or why they are refused. */
function keysOf(request: RecordedRequest): string[] | string {
  const header = request.headers['surrogate-key'];
  let keys: unknown;
  if (typeof header === 'string') {
    keys = header.split(' ').filter((key) => key !== '');
  } else {
    try {
      keys = (JSON.parse(request.body) as { surrogate_keys?: unknown }).surrogate_keys;
    } catch {
      return 'Request body is not valid JSON';
    }
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'string' && key !== '')) {
    return 'surrogate_keys must be a non-empty array of strings';
  }
  if (keys.length > FASTLY_MAX_KEYS) return `Too many surrogate keys: ${keys.length}, the limit is ${FASTLY_MAX_KEYS}`;
  if (keys.some((key: string) => Buffer.byteLength(key) > 1024)) return 'A surrogate key is longer than 1024 bytes';
  return keys as string[];
}
