import { stringBytes } from '../cache/footprint.ts';
import { assetRef, type AssetRef } from '../cache/freshness.ts';
import { assetGroup } from '../cache/layout.ts';
import { MemoryLru } from '../cache/memory-lru.ts';
import { variesOnAccept } from '../render/negotiate.ts';
import { parseParams, type ClientHint, type HintValues, type RenderParams } from '../render/params.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import { hintResponseHeaders } from './client-hints.ts';
import { requireSignature } from './signature.ts';
import { resolveSubImages, type SubImage } from './sub-images.ts';

/** Part of every derivative key: bump it when rendering changes, so disk caches from older versions are not served. */
const RENDERER_VERSION = 'r4';

/** Bound of the memo, all Sources together: parsing again is cheap, so this is a shortcut, not a cache. */
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
  /** The raw query, parsed again with the request's client hints when `ch` names any. */
  query: string;
  /** `dl`: the file name asked for. */
  download: string | undefined;
  /** `ch`: the client hints the URL opts in to. */
  hints: ClientHint[] | undefined;
  /**
   * Headers every rendered answer to this URL carries, whatever derivative answers it: the recognised
   * parameters that were not applied (`X-Pictor-Unsupported`), and the client hints' `Accept-CH` and `Vary`.
   * They belong to the URL, not to the derivative (URLs differing only in them share it), so they are
   * added to each response rather than kept in the derivative's cached header block.
   */
  headers: string[];
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
  const { params, canonical, expires, ignored, download, hints } = parseParams(rawQuery, { defaults: source.record.deployment.default_params });
  const subImages = resolveSubImages(params, { source, path }, sources);
  const headers = hints ? hintResponseHeaders(hints) : [];
  if (ignored) headers.push('x-pictor-unsupported', ignored.join(', '));
  return {
    sourceId: source.record.id,
    path,
    params,
    expires,
    key: keyOf(source, path, canonical),
    keys: {},
    group: assetGroup(source.record.id, path),
    // A derivative depends on its asset and on every sub-image it uses: purging any of them makes it stale.
    deps: [assetRef(source.record.id, path), ...subImages.map((sub) => sub.ref)],
    subImages,
    varyAccept: variesOnAccept(params),
    query: rawQuery,
    download,
    hints,
    headers,
  };
}

/**
 * The route as the request's client hints make it: parsed again with them, so that it is keyed exactly as
 * the URL with those values written out (a hinted `Width: 400` and `w=400` share one derivative).
 */
export function withHints(route: Route, source: ResolvedSource, hints: HintValues): Route {
  const { params, canonical } = parseParams(route.query, { defaults: source.record.deployment.default_params, hints });
  const key = keyOf(source, route.path, canonical);
  if (key === route.key) return route;
  return { ...route, params, key, keys: {}, varyAccept: variesOnAccept(params) };
}

function keyOf(source: ResolvedSource, path: string, canonical: string): string {
  return `${RENDERER_VERSION}\n${source.record.id}\n${path}\n${canonical}`;
}
