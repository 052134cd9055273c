import { stringBytes } from '../cache/footprint.ts';
import { assetRef, type AssetRef } from '../cache/freshness.ts';
import { assetGroup } from '../cache/layout.ts';
import { MemoryLru } from '../cache/memory-lru.ts';
import { variesOnAccept } from '../render/negotiate.ts';
import { parseParams, type RenderParams } from '../render/params.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import { requireSignature } from './signature.ts';
import { resolveSubImages, type SubImage } from './sub-images.ts';

/** Part of every derivative key: bump it when rendering changes, so disk caches from older versions are not served. */
const RENDERER_VERSION = 'r2';

/** Bound of the memo, all Sources together: parsing again costs microseconds, so this is a shortcut, not a cache. */
const ROUTE_MEMO_BYTES = 32 * 1024 * 1024;

/**
 * A route's objects besides its strings: the route, its parameters, its dependency and sub-image lists and
 * the record of negotiated keys. Its strings (keys, path, group, dependency) are each at most about as long
 * as its key, and there are at most five of them in the usual case.
 */
const ROUTE_OBJECT_BYTES = 640;
const ROUTE_STRINGS = 5;

/** A request target, parsed: everything about it that does not depend on the request's headers. */
export interface Route {
  sourceId: string;
  path: string;
  params: RenderParams;
  expires: number | undefined;
  /** The derivative cache key, before the negotiated format is appended. */
  key: string;
  /** Full cache keys by negotiated format, built once: a reused string also keeps its hash. */
  keys: Record<string, string>;
  group: string;
  deps: AssetRef[];
  subImages: SubImage[];
  varyAccept: boolean;
}

/**
 * What request targets mean — canonical path, parameters, sub-images, cache key — memoised by the raw
 * target, so a cache hit skips parsing and signature checks. One bound for every Source; a target asked of
 * two Sources in turn is simply parsed again. Entries are dropped when the Sources change (a token, a
 * sub-image's Source); a target that fails to parse or verify is never memoised.
 */
export class RouteMemo {
  private readonly memo: MemoryLru<Route>;
  private generation = -1;

  constructor(
    private readonly sources: SourceRegistry,
    maxBytes = ROUTE_MEMO_BYTES,
  ) {
    this.memo = new MemoryLru(maxBytes);
  }

  route(source: ResolvedSource, target: string): Route {
    if (this.generation !== this.sources.generation) {
      this.memo.clear(); // a token, a domain or a sub-image's Source may have changed
      this.generation = this.sources.generation;
    }
    const known = this.memo.get(target);
    if (known?.sourceId === source.record.id) return known;
    const route = parseRoute(source, target, this.sources);
    this.memo.set(target, route, ROUTE_OBJECT_BYTES + ROUTE_STRINGS * stringBytes(route.key));
    return route;
  }

  /** Bytes counted against the bound. */
  get bytes(): number {
    return this.memo.bytes;
  }
}

function parseRoute(source: ResolvedSource, target: string, sources: SourceRegistry): Route {
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? '' : target.slice(queryStart + 1);
  requireSignature(source, { rawPath, rawQuery });
  const path = canonicalPath(rawPath);
  const { params, canonical, expires } = parseParams(rawQuery);
  const subImages = resolveSubImages(params, { source, path }, sources);
  return {
    sourceId: source.record.id,
    path,
    params,
    expires,
    key: `${RENDERER_VERSION}\n${source.record.id}\n${path}\n${canonical}`,
    keys: {},
    group: assetGroup(source.record.id, path),
    // A derivative depends on its asset and on every sub-image it uses: purging any of them makes it stale.
    deps: [assetRef(source.record.id, path), ...subImages.map((sub) => sub.ref)],
    subImages,
    varyAccept: variesOnAccept(params),
  };
}
