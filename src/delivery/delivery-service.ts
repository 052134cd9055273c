import { createHash } from 'node:crypto';
import { Coalescer } from '../cache/coalescer.ts';
import type { Derivative, DerivativeCache } from '../cache/derivative-cache.ts';
import { assetRef, type Freshness } from '../cache/freshness.ts';
import { assetGroup } from '../cache/layout.ts';
import { MemoryLru } from '../cache/memory-lru.ts';
import type { Master, OriginCache, OriginCacheResult } from '../cache/origin-cache.ts';
import { isPictorError, PictorError } from '../errors.ts';
import { acceptClass, variesOnAccept } from '../render/negotiate.ts';
import { parseParams, type RenderParams } from '../render/params.ts';
import type { DecodedMasters } from '../render/decoded-masters.ts';
import { detectImageFormat } from '../render/detect.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import type { Renderer } from './renderer.ts';
import { requireSignature } from './signature.ts';
import { resolveSubImages, type SubImage } from './sub-images.ts';
import { respond, respondHit, type DeliveryResponse, type ResponseContext } from './respond.ts';

export interface DeliveryRequest {
  host: string | undefined;
  /** The request target as received: path and query, undecoded. */
  target: string;
  accept: string | undefined;
  ifNoneMatch: string | undefined;
}

export interface DeliveryTiers {
  originCache: OriginCache;
  derivatives: DerivativeCache;
  decodedMasters: DecodedMasters;
}

export interface DeliveryObservers {
  render(seconds: number, format: string): void;
}

/** Part of every derivative key: bump it when rendering changes, so disk caches from older versions are not served. */
const RENDERER_VERSION = 'r2';

/** Per Source: about 20,000 distinct request targets of typical length. */
const ROUTE_MEMO_BYTES = 8 * 1024 * 1024;

/** Render errors worth remembering for the error TTL: asking again gives the same answer. */
const CACHEABLE_ERRORS = new Set([404, 413, 422]);

/**
 * The Rendering API flow: route → canonical path and parameters → derivative cache (memory, disk) →
 * coalesced miss → origin cache → render → store unless a purge intervened → respond.
 */
export class DeliveryService {
  private readonly renders: Coalescer<MissResult>;
  /** Parsed request targets, by Source id then raw target; all dropped when the Sources change. */
  private readonly routes = new Map<string, MemoryLru<Route>>();
  private routesGeneration = -1;

  constructor(
    private readonly sources: SourceRegistry,
    freshness: Freshness,
    private readonly tiers: DeliveryTiers,
    private readonly renderer: Renderer,
    private readonly observers: DeliveryObservers,
  ) {
    this.renders = new Coalescer(freshness);
  }

  /**
   * Answers a request. A hit in the memory tier is answered synchronously (no promise, and the header block
   * is reused): that is most of a CDN's traffic. Anything else continues in `handleMiss`.
   */
  handle(request: DeliveryRequest): DeliveryResponse | Promise<DeliveryResponse> {
    const source = this.sources.forHost(request.host);
    const route = this.route(source, request);
    const { expires } = route;
    if (expires !== undefined && expires * 1000 <= Date.now()) throw new PictorError('URL_EXPIRED', 'This URL has expired.');
    const format = acceptClass(route.params, request.accept);
    const key = (route.keys[format] ??= `${route.key}\n${format}`);
    const context = { ifNoneMatch: request.ifNoneMatch, expires };
    const inMemory = this.tiers.derivatives.fromMemory(key);
    if (inMemory) return respondHit(inMemory, context, 'memory');
    return this.handleMiss({ ...route, source, format, key }, context);
  }

  private async handleMiss(job: Job, context: ResponseContext): Promise<DeliveryResponse> {
    const onDisk = await this.tiers.derivatives.fromDisk(job.key, job.group);
    if (onDisk) return respondHit(onDisk, context, 'disk');
    if (!job.source.record.enabled) throw new PictorError('SOURCE_DISABLED', 'This Source is disabled.');

    const { promise, joined } = this.renders.run(job.key, job.deps, (builtAt) => this.miss(job, builtAt));
    const { derivative, origin, stored } = await promise;
    const originStatus = origin === 'miss' ? 'fwd=miss' : 'hit';
    return respond(derivative, context, `Pictor-Origin; ${originStatus}, Pictor; fwd=miss${stored ? '; stored' : ''}${joined ? '; collapsed' : ''}`);
  }

  /**
   * What a request target means — canonical path, parameters, sub-images, cache key — memoised by the raw
   * target, so a cache hit skips parsing and signature checks. Entries are dropped when the Sources change
   * (a token, a sub-image's Source); a target that fails to parse or verify is never memoised.
   */
  private route(source: ResolvedSource, request: DeliveryRequest): Route {
    const memo = this.routeMemo(source.record.id);
    const known = memo.get(request.target);
    if (known) return known;
    const queryStart = request.target.indexOf('?');
    const rawPath = queryStart === -1 ? request.target : request.target.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? '' : request.target.slice(queryStart + 1);
    requireSignature(source, { rawPath, rawQuery });
    const path = canonicalPath(rawPath);
    const { params, canonical, expires } = parseParams(rawQuery);
    const subImages = resolveSubImages(params, { source, path }, this.sources);
    const route: Route = {
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
    memo.set(request.target, route, request.target.length * 2 + 256);
    return route;
  }

  private routeMemo(sourceId: string): MemoryLru<Route> {
    if (this.routesGeneration !== this.sources.generation) {
      this.routes.clear(); // a token, a domain or a sub-image's Source may have changed
      this.routesGeneration = this.sources.generation;
    }
    let memo = this.routes.get(sourceId);
    if (!memo) this.routes.set(sourceId, (memo = new MemoryLru(ROUTE_MEMO_BYTES)));
    return memo;
  }

  /** Builds the derivative for a miss (a render, a passed-through file or a cacheable error) and stores it. */
  private async miss(job: Job, builtAt: number): Promise<MissResult> {
    const { master, result } = await this.tiers.originCache.get(job.source.record, job.source.origin, job.path);
    let output: Output;
    if (master.meta.kind === 'missing') {
      output = errorOutput(404, 'Asset not found.');
    } else if (detectImageFormat(master.body) === null) {
      output = { status: 200, contentType: master.meta.contentType, body: master.body };
    } else {
      try {
        output = await this.renderImage(master, job);
      } catch (error) {
        if (!isPictorError(error) || !CACHEABLE_ERRORS.has(error.status)) throw error;
        output = errorOutput(error.status, error.message);
      }
    }
    const isError = output.status !== 200;
    const errorTtl = job.source.record.deployment.cache_ttl_error;
    const derivative: Derivative = {
      body: output.body,
      meta: {
        status: output.status,
        contentType: output.contentType,
        etag: etagOf(output.body),
        maxAge: isError ? errorTtl : master.meta.maxAge,
        expiresAt: isError ? Date.now() + errorTtl * 1000 : master.meta.expiresAt,
        builtAt,
        deps: job.deps,
        varyAccept: job.varyAccept,
      },
    };
    const stored = this.tiers.derivatives.store(job.key, job.group, derivative);
    return { derivative, origin: result, stored };
  }

  private async renderImage(master: Master, job: Job): Promise<Output> {
    const subImages = await this.loadSubImages(job);
    const started = performance.now();
    const output = await this.renderer.render(master.body, job.params, {
      acceptClass: job.format,
      decoded: { masters: this.tiers.decodedMasters, masterKey: `${job.deps[0]}#${master.meta.hash}` },
      subImages,
    });
    this.observers.render((performance.now() - started) / 1000, output.format);
    return { status: 200, contentType: output.contentType, body: output.body };
  }

  /** Encoded sub-images for the renderer; a layer whose image is missing or not an image is left out. */
  private async loadSubImages(job: Job): Promise<{ mark?: Buffer; blend?: Buffer }> {
    const layers: { mark?: Buffer; blend?: Buffer } = {};
    await Promise.all(
      job.subImages.map(async (sub) => {
        const body = await this.loadSubImage(sub);
        if (body) layers[sub.layer] = body;
      }),
    );
    return layers;
  }

  private async loadSubImage(sub: SubImage): Promise<Buffer | undefined> {
    if (!sub.source.record.enabled) return undefined;
    const { master } = await this.tiers.originCache.get(sub.source.record, sub.source.origin, sub.path);
    if (master.meta.kind !== 'found' || detectImageFormat(master.body) === null) return undefined;
    if (!sub.hasOwnParams) return master.body;
    return (await this.renderer.render(master.body, sub.params, { acceptClass: '' })).body;
  }
}

/** A request target, parsed: everything about it that does not depend on the request's headers. */
interface Route {
  path: string;
  params: RenderParams;
  expires: number | undefined;
  /** The derivative cache key, before the negotiated format is appended. */
  key: string;
  /** Full cache keys by negotiated format, built once: a reused string also keeps its hash. */
  keys: Record<string, string>;
  group: string;
  deps: string[];
  subImages: SubImage[];
  varyAccept: boolean;
}

interface Job extends Route {
  source: ResolvedSource;
  format: string;
}

interface Output {
  status: number;
  contentType: string;
  body: Buffer;
}

interface MissResult {
  derivative: Derivative;
  origin: OriginCacheResult;
  stored: boolean;
}

function errorOutput(status: number, message: string): Output {
  return { status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${message}\n`) };
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

