import type { EdgeCacheKeyStore } from '../store/edge-cache-keys.ts';

/** A response as the render listener writes it: headers as alternating names and values (delivery/respond.ts). */
interface Response {
  headers: readonly string[];
}

/** The request headers an nginx edge sets (edges/nginx-conf.ts), lowercase. */
const EDGE_HEADER = 'x-pictor-edge';
const CACHE_KEY_HEADER = 'x-pictor-cache-key';
/** Added to how long a response may stay fresh at an edge: for clocks apart, and the time it takes to reach the edge. */
const EXPIRY_MARGIN_MS = 60_000;
/** How long the list of nginx edges is reused before it is read again. */
const EDGE_LIST_MS = 2000;

export interface NginxRecorderOptions {
  /** The names of the nginx edges in the registry. */
  edges: () => Promise<string[]>;
  /** Keys recorded per edge at most (PICTOR_NGINX_KEYS_MAX). */
  limit: number;
  onError: (error: unknown) => void;
}

/**
 * Records, before a response leaves Pictor, the cache key an nginx edge will keep it under, filed under the
 * response's edge keys (store/edge-cache-keys.ts): what lets a purge reach every key the edge may hold.
 *
 * Security and freshness invariant: a cacheable response to a request naming an edge is either recorded
 * first, or sent with `X-Accel-Expires: 0` so nginx does not keep it (the key store cannot be written, the
 * edge is at its bound, or it is not a registered nginx edge). An edge therefore never holds a response a
 * purge cannot find. The headers come from nginx, which overwrites what clients send; a client that reaches
 * the render listener directly and forges them can only fill the edge's record up to its bound, past which
 * the edge caches less, never serves stale bytes.
 */
export class NginxRecorder {
  private known: { names: Set<string>; at: number } | undefined;

  constructor(
    private readonly store: EdgeCacheKeyStore,
    private readonly options: NginxRecorderOptions,
  ) {}

  /** Undefined when the request names no edge (sent as it is); else the response to send, once recorded. */
  record<R extends Response>(rawHeaders: readonly string[], response: R): Promise<R> | undefined {
    const { edge, cacheKey } = edgeHeaders(rawHeaders);
    if (edge === undefined) return undefined;
    const maxAge = cacheableFor(response);
    if (maxAge === undefined) return undefined;
    const keys = headerValue(response.headers, 'xkey');
    if (cacheKey === undefined || keys === undefined) return Promise.resolve(uncacheable(response));
    return this.write(edge, cacheKey, keys.split(' '), maxAge).then(
      (recorded) => (recorded ? response : uncacheable(response)),
      (error: unknown) => {
        this.options.onError(error);
        return uncacheable(response);
      },
    );
  }

  /** An error answer carries no edge key, so no purge could reach it: an edge must not keep it. */
  errorHeaders(rawHeaders: readonly string[]): readonly string[] {
    return edgeHeaders(rawHeaders).edge === undefined ? [] : EDGE_UNCACHEABLE;
  }

  private async write(edge: string, cacheKey: string, keys: string[], maxAge: number): Promise<boolean> {
    if (!(await this.nginxEdges()).has(edge)) return false;
    const now = Date.now();
    return this.store.record(edge, cacheKey, keys, now + maxAge * 1000 + EXPIRY_MARGIN_MS, this.options.limit, now);
  }

  private async nginxEdges(): Promise<Set<string>> {
    if (this.known === undefined || Date.now() - this.known.at > EDGE_LIST_MS) {
      this.known = { names: new Set(await this.options.edges()), at: Date.now() };
    }
    return this.known.names;
  }
}

/** What keeps nginx from caching a response (it does not pass the header on to clients). */
const EDGE_UNCACHEABLE = ['x-accel-expires', '0'] as const;

function edgeHeaders(raw: readonly string[]): { edge?: string; cacheKey?: string } {
  let edge: string | undefined;
  let cacheKey: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === EDGE_HEADER.length && name.toLowerCase() === EDGE_HEADER) edge ??= raw[i + 1];
    else if (name.length === CACHE_KEY_HEADER.length && name.toLowerCase() === CACHE_KEY_HEADER) cacheKey ??= raw[i + 1];
  }
  return { edge, cacheKey };
}

/** The max-age of a response an edge may keep; undefined for one it may not. */
function cacheableFor(response: Response): number | undefined {
  const cacheControl = headerValue(response.headers, 'cache-control');
  const match = cacheControl === undefined ? null : /^public, max-age=(\d+)/.exec(cacheControl);
  return match === null || Number(match[1]) === 0 ? undefined : Number(match[1]);
}

function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

function uncacheable<R extends Response>(response: R): R {
  return { ...response, headers: [...response.headers, ...EDGE_UNCACHEABLE] };
}
