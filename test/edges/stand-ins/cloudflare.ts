/**
 * A stand-in for Cloudflare's cache purge API, as documented at
 * https://developers.cloudflare.com/cache/how-to/purge-cache/ and
 * https://developers.cloudflare.com/api/resources/cache/methods/purge/ (read 2026-12-07).
 *
 * - `POST /client/v4/zones/{zone_id}/purge_cache`, `Authorization: Bearer <token>`.
 * - The body holds exactly one kind: `files`, `tags`, `hosts`, `prefixes` or `purge_everything: true`; at most
 *   `maxItems` items (100 on every plan, 500 for URLs on Enterprise).
 * - Rate limit: a token bucket per account, per plan (Free 5 a minute with a bucket of 25, Pro 5/s and 25,
 *   Business 10/s and 50, Enterprise 50/s and 500); past it `429` with `Retry-After`.
 * - Answers in Cloudflare's envelope: `{"success","errors":[{"code","message"}],"messages","result"}`. The codes
 *   of authentication (10000), routing (7000, 7003) and rate-limit (971) errors are Cloudflare's; those of
 *   body-validation errors (1012 here) are the stand-in's own, since the documentation lists none.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { sendJson, startStandInServer, TokenBucket, type RecordedRequest, type StandInServer } from './stand-in-server.ts';

export const CLOUDFLARE_PLANS = {
  free: { size: 25, refillPerSecond: 5 / 60 },
  pro: { size: 25, refillPerSecond: 5 },
  business: { size: 50, refillPerSecond: 10 },
  enterprise: { size: 500, refillPerSecond: 50 },
} as const;

const KINDS = ['files', 'tags', 'hosts', 'prefixes', 'purge_everything'] as const;

export interface CloudflareStandInOptions {
  zoneId: string;
  apiToken: string;
  plan?: keyof typeof CLOUDFLARE_PLANS;
  maxItems?: number;
}

export interface CloudflareStandIn extends StandInServer {
  /** The `endpoint` to give the driver: `http://127.0.0.1:<port>/client/v4`. */
  endpoint: string;
  /** Every tag purged so far, in order. */
  purgedTags: string[];
}

function envelope(success: boolean, errors: { code: number; message: string }[], result: unknown = null): unknown {
  return { success, errors, messages: [], result };
}

export async function startCloudflareStandIn(options: CloudflareStandInOptions): Promise<CloudflareStandIn> {
  const bucket = new TokenBucket(CLOUDFLARE_PLANS[options.plan ?? 'pro'].size, CLOUDFLARE_PLANS[options.plan ?? 'pro'].refillPerSecond);
  const maxItems = options.maxItems ?? 100;
  const purgedTags: string[] = [];

  const handle = (request: RecordedRequest, response: http.ServerResponse): void => {
    const route = /^\/client\/v4\/zones\/([^/]+)\/purge_cache$/.exec(request.path);
    if (route === null || request.method !== 'POST') {
      return sendJson(response, 404, envelope(false, [{ code: 7000, message: 'No route for that URI' }]));
    }
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      return sendJson(response, 400, envelope(false, [{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }]));
    }
    if (authorization !== `Bearer ${options.apiToken}`) {
      return sendJson(response, 403, envelope(false, [{ code: 10000, message: 'Authentication error' }]));
    }
    if (route[1] !== options.zoneId) {
      const message = `Could not route to /zones/${route[1]}/purge_cache, perhaps your object identifier is invalid?`;
      return sendJson(response, 404, envelope(false, [{ code: 7003, message }, { code: 7000, message: 'No route for that URI' }]));
    }
    if (!bucket.take()) {
      const headers = { 'retry-after': String(bucket.retryAfterSeconds()) };
      return sendJson(response, 429, envelope(false, [{ code: 971, message: 'Please wait and consider throttling your request speed' }]), headers);
    }
    const refusal = validate(request.body, maxItems);
    if (refusal !== undefined) return sendJson(response, 400, envelope(false, [{ code: 1012, message: refusal }]));
    const body = JSON.parse(request.body) as { tags?: string[] };
    purgedTags.push(...(body.tags ?? []));
    sendJson(response, 200, envelope(true, [], { id: randomBytes(16).toString('hex') }));
  };

  const outage = (status: number, response: http.ServerResponse): void =>
    sendJson(response, status, envelope(false, [{ code: 10001, message: 'Service temporarily unavailable' }]));
  const server = await startStandInServer(handle, outage);
  return { ...server, endpoint: `${server.origin}/client/v4`, purgedTags };
}

/** Why a purge body is refused, or undefined when it is a valid one. */
function validate(text: string, maxItems: number): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'Malformed JSON in request body';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'Request body must be a JSON object';
  const kinds = KINDS.filter((kind) => kind in body);
  const unknown = Object.keys(body).filter((key) => !(KINDS as readonly string[]).includes(key));
  if (unknown.length > 0) return `Unknown field "${unknown[0]}"`;
  if (kinds.length !== 1) return 'Request must contain exactly one of "files", "tags", "hosts", "prefixes" or "purge_everything"';
  const kind = kinds[0]!;
  const value = (body as Record<string, unknown>)[kind];
  if (kind === 'purge_everything') return value === true ? undefined : '"purge_everything" must be true';
  if (!Array.isArray(value) || value.length === 0) return `"${kind}" must be a non-empty array`;
  if (value.length > maxItems) return `Only ${maxItems} ${kind} can be purged per request, got ${value.length}`;
  if (kind !== 'files' && !value.every((item) => typeof item === 'string' && item !== '')) return `"${kind}" must hold non-empty strings`;
  return undefined;
}
