/** What one purge asks of an edge: the edge keys of its scopes (edges/edge-keys.ts) and, for edges that purge
 * by URL, the public addresses they cover. */
export interface EdgeOrder {
  /** Stable id of this edge's part of the purge: an idempotency key (CloudFront CallerReference). */
  id: string;
  keys: string[];
  /** Each scope as the public URL space it covers: `https://host/path` + whether it is a prefix. */
  urls: { host: string; path: string; prefix: boolean }[];
}
/** The answer of one try. `retry`: a transient failure (network, 5xx, 429) — try again, after `afterMs` when
 * the vendor said so. `failed`: the vendor refused for good (401/403/404/400: bad credentials, unknown zone). */
export type EdgeOutcome =
  | { state: 'purged' }
  | { state: 'pending'; vendorId: string }
  | { state: 'retry'; error: string; afterMs?: number }
  | { state: 'failed'; error: string };
export interface EdgeDriver {
  purge(order: EdgeOrder): Promise<EdgeOutcome>;
  /** For drivers that answer `pending`: asks again about that vendor id. */
  poll?(vendorId: string): Promise<EdgeOutcome>;
}
