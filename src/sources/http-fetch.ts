import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { PictorError } from '../errors.ts';
import { contentTypeFromPath, type OriginObject, type OriginResult, type Validators } from './origin.ts';
import { findRefusal, OutboundGuard, outboundRefused, type Resolver } from './outbound-guard.ts';

/** A guarded GET of an absolute http(s) URL, answered as an Origin answers. */
export interface GuardedFetcher {
  (url: string | URL, validators?: Validators): Promise<OriginResult>;
  /** Closes the connection pool (idle sockets close on their own; this is for tests and shutdown). */
  close(): Promise<void>;
}

export interface GuardedFetcherOptions {
  /** IPs and CIDRs that may be reached although private (`--outbound-allow`). */
  outboundAllow: readonly string[];
  /** Bound of one whole fetch — every attempt, backoff and redirect — in seconds (`--origin-timeout`). */
  timeoutSeconds: number;
  /** Largest body accepted (`--max-input-bytes`). */
  maxBytes: number;
  /** Retries after a network error or a 5xx/408/429, with backoff (default 2). */
  retries?: number;
  /** Base of the exponential backoff, in milliseconds (default 200: 200 ms, then 400 ms, with jitter). */
  backoffMs?: number;
  /** Host name resolution (the system's by default); every address it returns is still checked. */
  resolve?: Resolver;
}

/** Redirects followed by hand, each re-validated; one more is an error. */
export const MAX_REDIRECTS = 3;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRIED_4XX = new Set([408, 429]);

/**
 * Outbound HTTP GET for `webfolder`, `webproxy` and sub-image URLs, behind the SSRF guard (outbound-guard.ts).
 *
 * - Conditional: `If-None-Match` / `If-Modified-Since` from the validators; `304` → `not-modified`.
 * - `2xx` → `found`, with the URL that answered (after redirects) as its object, the response's
 *   `Content-Type` (or one guessed from the URL's extension when the origin sends none or
 *   `application/octet-stream`), `ETag`, `Last-Modified` and `Cache-Control`.
 * - `404`, `410` and every other `4xx` except `408`/`429` → `missing`: a web origin that refuses a file
 *   (`401`, `403`, …) does not serve it, and the error is cached for the Source's error TTL like a 404.
 * - Network errors, `5xx`, `408` and `429` are retried (`retries`, exponential backoff with jitter), then
 *   `ORIGIN_UNAVAILABLE` (502). A refused destination (`OUTBOUND_REFUSED`, 403) and an oversized body
 *   (`INPUT_TOO_LARGE`, 413) are never retried.
 * - Redirects (`301`, `302`, `303`, `307`, `308`) are followed by hand, at most 3; each target is checked
 *   (scheme, host, resolved IP) before any byte is sent to it. A 4th redirect is `ORIGIN_UNAVAILABLE`.
 * - Size: a `Content-Length` over `maxBytes` is refused before the body is read, and the body is streamed
 *   and abandoned as soon as it passes `maxBytes` (the origin may lie or send no length).
 * - Time: `timeoutSeconds` bounds the whole fetch (connect, every attempt, backoff, redirects and the body);
 *   past it the request is aborted and the fetch fails with `ORIGIN_UNAVAILABLE`.
 */
export function createGuardedFetcher(options: GuardedFetcherOptions): GuardedFetcher {
  const timeoutMs = Math.max(1, Math.round(options.timeoutSeconds * 1000));
  const guard = new OutboundGuard(options.outboundAllow, { connectTimeoutMs: timeoutMs, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 200;

  const fetcher = async (input: string | URL, validators?: Validators): Promise<OriginResult> => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw outboundRefused(`"${String(input)}" is not an absolute URL`);
    }
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return await fetchFollowing(url, validators, deadline);
    } catch (error) {
      if (error instanceof PictorError) throw error;
      if (deadline.aborted) {
        throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} did not answer within ${options.timeoutSeconds} s.`, { cause: error });
      }
      throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} could not be fetched (${describe(error)}).`, { cause: error });
    }
  };

  async function fetchFollowing(start: URL, validators: Validators | undefined, signal: AbortSignal): Promise<OriginResult> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const outcome = await fetchWithRetries(url, validators, signal);
      if (outcome.kind !== 'redirect') return outcome;
      if (hop >= MAX_REDIRECTS) {
        throw new PictorError('ORIGIN_UNAVAILABLE', `The origin redirected more than ${MAX_REDIRECTS} times (last to ${outcome.location.host}).`);
      }
      url = outcome.location;
    }
  }

  async function fetchWithRetries(url: URL, validators: Validators | undefined, signal: AbortSignal): Promise<OriginResult | Redirect> {
    guard.checkUrl(url);
    for (let attempt = 0; ; attempt++) {
      let failure: { error?: unknown; status?: number };
      try {
        const outcome = await fetchOnce(url, validators, signal);
        if (outcome.kind !== 'retry') return outcome;
        failure = { status: outcome.status };
      } catch (error) {
        const refusal = findRefusal(error);
        if (refusal) throw refusal;
        if (error instanceof PictorError || signal.aborted) throw error;
        failure = { error };
      }
      if (attempt >= retries) {
        const what = failure.status !== undefined ? `answered ${failure.status}` : `failed (${describe(failure.error)})`;
        throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} ${what} after ${attempt + 1} attempts.`, { cause: failure.error });
      }
      const delay = backoffMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
      await sleep(delay, undefined, { signal });
    }
  }

  async function fetchOnce(url: URL, validators: Validators | undefined, signal: AbortSignal): Promise<OriginResult | Redirect | Retry> {
    const headers: Record<string, string> = { accept: 'image/*,*/*;q=0.8', 'accept-encoding': 'identity', 'user-agent': 'Pictor' };
    if (validators?.etag !== undefined) headers['if-none-match'] = validators.etag;
    if (validators?.lastModified !== undefined) headers['if-modified-since'] = validators.lastModified;
    const response = await request(url, { method: 'GET', headers, signal, dispatcher: guard.agent });
    const { statusCode, body } = response;
    const header = (name: string): string | undefined => {
      const value = response.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const current: Validators = {};
    const etag = header('etag');
    const lastModified = header('last-modified');
    if (etag !== undefined) current.etag = etag;
    if (lastModified !== undefined) current.lastModified = lastModified;
    const cacheControl = header('cache-control');
    const withCacheControl = <T extends object>(result: T): T => (cacheControl === undefined ? result : { ...result, cacheControl });

    if (statusCode >= 200 && statusCode < 300) {
      const length = Number(header('content-length'));
      if (Number.isFinite(length) && length > options.maxBytes) {
        abandon(body);
        throw tooLarge(`is ${length} bytes`, options.maxBytes);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > options.maxBytes) {
          abandon(body);
          throw tooLarge(`is over ${options.maxBytes} bytes`, options.maxBytes);
        }
        chunks.push(chunk);
      }
      const declared = header('content-type');
      const contentType = declared === undefined || /^application\/octet-stream\b/i.test(declared) ? contentTypeFromPath(url.pathname) : declared;
      const bytes = Buffer.concat(chunks, total);
      return withCacheControl({ kind: 'found' as const, body: bytes, contentType, validators: current, object: urlObject(url) });
    }
    await body.dump().catch(() => undefined);
    if (statusCode === 304) {
      if (validators?.etag === undefined && validators?.lastModified === undefined) {
        throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} answered 304 to an unconditional request.`);
      }
      return withCacheControl({ kind: 'not-modified' as const, validators: { ...validators, ...current }, object: urlObject(url) });
    }
    if (REDIRECTS.has(statusCode)) {
      const location = header('location');
      if (location === undefined) throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} answered ${statusCode} without a Location.`);
      let target: URL;
      try {
        target = new URL(location, url);
      } catch {
        throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} redirected to an invalid URL.`);
      }
      return { kind: 'redirect', location: target };
    }
    if (statusCode >= 500 || RETRIED_4XX.has(statusCode)) return { kind: 'retry', status: statusCode };
    if (statusCode >= 400) return { kind: 'missing' };
    throw new PictorError('ORIGIN_UNAVAILABLE', `The origin ${url.host} answered an unexpected ${statusCode}.`);
  }

  return Object.assign(fetcher, { close: () => guard.close() });
}

/** The origin object of a web file: the URL it was finally served from, after redirects. */
export function urlObject(url: URL): OriginObject {
  return `url:${url.href}`;
}

interface Redirect {
  kind: 'redirect';
  location: URL;
}

interface Retry {
  kind: 'retry';
  status: number;
}

/** Stops reading a body: the connection is dropped, and the abort error undici then emits is expected. */
function abandon(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

function tooLarge(what: string, maxBytes: number): PictorError {
  return new PictorError('INPUT_TOO_LARGE', `The origin file ${what}, over the limit of ${maxBytes} bytes.`);
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
