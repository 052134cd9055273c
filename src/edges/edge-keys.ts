import { createHash } from 'node:crypto';
import { scopesCovering, type AssetRef } from '../cache/freshness.ts';
import type { ContentId } from '../sources/origin.ts';

/**
 * Edge keys: the tags Varnish's xkey vmod files each cached render response under, so that one `PURGE` with
 * `xkey-purge: <keys>` removes exactly what a Pictor purge made stale.
 *
 * A key names one freshness scope (see cache/freshness.ts): `a-` for an asset, `p-` for a path prefix, `s-`
 * for a whole Source, then 20 hex digits of the scope's SHA-256. Hashing keeps a key free of the spaces and
 * commas xkey splits on, and its length fixed however long the path.
 *
 * A response carries the key of every scope that covers any asset it depends on (the asset itself and each
 * mark/blend sub-image): the asset, its Source, and every folder above it. For a dep `src:/a/b/c.jpg`
 * that is `S:src`, `A:src:/a/b/c.jpg`, `P:src:/`, `P:src:/a/` and `P:src:/a/b/`.
 *
 * Prefix purges rest on that last part: a derivative is tagged with the key of each folder it sits under,
 * so purging a prefix sends the one key of that prefix (`edgeKeysForPurge`), and the edge removes every
 * derivative under the folder, however many, without Pictor listing them. The cost is a few keys per
 * response, one per folder level.
 *
 * A response also carries a `c-` key per content id it was built from (sources/origin.ts `ContentId`: the
 * origin object and the SHA-256 of the asset and of each sub-image), so a takedown removes every copy of
 * its content from the edges, under whatever Source's URL they were cached (`contentEdgeKeys`).
 */
const KIND_PREFIX: Record<string, string> = { A: 'a-', P: 'p-', S: 's-' };

/** The edge key of one freshness scope (`A:…`, `P:…` or `S:…`). */
export function edgeKey(scope: string): string {
  const prefix = scope[1] === ':' ? KIND_PREFIX[scope[0]!] : undefined;
  if (prefix === undefined) throw new Error(`not a freshness scope: ${JSON.stringify(scope)}`);
  return prefix + createHash('sha256').update(scope).digest('hex').slice(0, 20);
}

/** The keys a response built from these deps and this content is tagged with: every covering scope's key and every content key, once each. */
export function edgeKeysFor(deps: readonly AssetRef[], content: readonly ContentId[] = []): string[] {
  return [...keyDepths(deps, content).keys()];
}

/**
 * The longest `Cache-Tag` (Cloudflare: 16 KiB in all) and `Surrogate-Key` (Fastly: 16,384 bytes; each key at
 * most 1,024, which edge keys are far below) a response carries: beyond them the vendor ignores keys.
 */
export const VENDOR_KEYS_MAX_BYTES = 16_384;

/**
 * The edge-key headers of a response: `xkey` (Varnish, and nginx through edges/nginx-recorder.ts) with every
 * key; `Cache-Tag` (comma-separated) and `Surrogate-Key` (space-separated) within the vendors' limits.
 *
 * A response under very deep folders can have more keys than fit: the most specific folder keys are dropped
 * first (the asset, Source and content keys, and the shallow folders, stay). A prefix purge of a dropped folder
 * could not reach such a response at those CDNs, so it is marked uncacheable there (`CDN-Cache-Control:
 * no-store` for Cloudflare, `Surrogate-Control: no-store` for Fastly): a CDN never holds what a purge misses.
 */
export function edgeKeyHeaders(deps: readonly AssetRef[], content: readonly ContentId[] = []): string[] {
  const depths = keyDepths(deps, content);
  const all = [...depths.keys()];
  const kept = fitKeys(all, depths, VENDOR_KEYS_MAX_BYTES);
  const headers = ['xkey', all.join(' '), 'cache-tag', kept.join(','), 'surrogate-key', kept.join(' ')];
  if (kept.length < all.length) headers.push('cdn-cache-control', 'no-store', 'surrogate-control', 'no-store');
  return headers;
}

/** Each key once, with the depth of its folder (a `p-` key) or -1 (the asset, its Source, content): what is dropped first. */
function keyDepths(deps: readonly AssetRef[], content: readonly ContentId[]): Map<string, number> {
  const keys = new Map<string, number>();
  for (const dep of deps) {
    for (const scope of scopesCovering(dep)) {
      const key = edgeKey(scope);
      const depth = scope[0] === 'P' ? scope.split('/').length : -1;
      keys.set(key, Math.min(keys.get(key) ?? depth, depth));
    }
  }
  for (const key of contentEdgeKeys(content)) keys.set(key, -1);
  return keys;
}

/** The keys whose separated list fits `maxBytes`, dropping the deepest folder keys first; in their first order. */
function fitKeys(keys: string[], depths: Map<string, number>, maxBytes: number): string[] {
  let bytes = keys.reduce((sum, key) => sum + key.length, 0) + Math.max(0, keys.length - 1);
  if (bytes <= maxBytes) return keys;
  const dropped = new Set<string>();
  for (const key of [...keys].sort((a, b) => depths.get(b)! - depths.get(a)!)) {
    if (bytes <= maxBytes) break;
    dropped.add(key);
    bytes -= key.length + 1;
  }
  return keys.filter((key) => !dropped.has(key));
}

/** The edge keys of content ids: what a takedown purges, and what every response built from the content carries. */
export function contentEdgeKeys(content: readonly ContentId[]): string[] {
  return content.map((id) => `c-${createHash('sha256').update(id).digest('hex').slice(0, 20)}`);
}

/** The keys to purge at the edges for a purge of this scope (asset, prefix or Source): its own key. */
export function edgeKeysForPurge(scope: string): string[] {
  return [edgeKey(scope)];
}
