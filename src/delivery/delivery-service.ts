import { createHash } from 'node:crypto';
import { Coalescer } from '../cache/coalescer.ts';
import type { Derivative, DerivativeCache, DerivativeMeta } from '../cache/derivative-cache.ts';
import type { FreshnessView } from '../cache/freshness.ts';
import { masterContent, type Master, type OriginCache, type OriginCacheResult } from '../cache/origin-cache.ts';
import { isPictorError, PictorError } from '../errors.ts';
import { acceptClass } from '../render/negotiate.ts';
import type { DecodedMasters } from '../render/decoded-masters.ts';
import { detectImageFormat } from '../render/detect.ts';
import { describeBytes, passThroughType } from '../render/media-types.ts';
import { rendersPdf } from '../render/pdf-params.ts';
import { assetRef } from '../cache/freshness.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { ContentId } from '../sources/origin.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import type { TakedownGate } from '../takedown/takedown-gate.ts';
import type { Renderer } from './renderer.ts';
import { readHints, type HintHeaders } from './client-hints.ts';
import { contentDisposition } from './content-disposition.ts';
import { RouteMemo, withHints, type Route } from './routes.ts';
import type { SubImage } from './sub-images.ts';
import { respond, respondHit, respondRange, type DeliveryResponse, type ResponseContext } from './respond.ts';

export interface DeliveryRequest {
  host: string | undefined;
  /** The request target as received: path and query, undecoded. */
  target: string;
  accept: string | undefined;
  ifNoneMatch: string | undefined;
  /** The `Range` header: honoured on passed-through videos and video outputs. */
  range?: string | undefined;
  /** Client hint headers, applied only to URLs whose `ch` names them. */
  hints?: HintHeaders;
}

/** The Video API (video/video-delivery.ts), handed the requests it accepts. */
export interface VideoHandler {
  /** Whether a request target names a video and asks for the Video API (cheap: asked of every request). */
  accepts(target: string): boolean;
  handle(source: ResolvedSource, request: DeliveryRequest): Promise<DeliveryResponse>;
}

export interface DeliveryTiers {
  originCache: OriginCache;
  derivatives: DerivativeCache;
  decodedMasters: DecodedMasters;
}

export interface DeliveryObservers {
  render(seconds: number, format: string): void;
}

/** Render errors worth remembering for the error TTL: asking again gives the same answer. */
const CACHEABLE_ERRORS = new Set([404, 413, 422]);

/**
 * The Rendering API flow: route → canonical path and parameters → derivative cache (memory, disk) →
 * coalesced miss → origin cache → render → store unless a purge intervened → respond.
 */
export class DeliveryService {
  private readonly renders: Coalescer<MissResult>;
  private readonly routes: RouteMemo;

  constructor(
    private readonly sources: SourceRegistry,
    private readonly freshness: FreshnessView,
    private readonly tiers: DeliveryTiers,
    private readonly renderer: Renderer,
    private readonly observers: DeliveryObservers,
    private readonly takedowns?: TakedownGate,
    private readonly video?: VideoHandler,
  ) {
    this.renders = new Coalescer(freshness);
    this.routes = new RouteMemo(sources);
  }

  /**
   * Answers a request. A hit in the memory tier is answered synchronously (no promise, and the header block
   * is reused): that is most of a CDN's traffic. Anything else continues in `handleMiss`.
   */
  handle(request: DeliveryRequest): DeliveryResponse | Promise<DeliveryResponse> {
    const source = this.sources.forHost(request.host);
    if (this.video?.accepts(request.target)) {
      // A taken-down video is not served in any form: its playlists, segments and every other output.
      if (this.takedowns && this.takedowns.size > 0) this.checkTakedown(source, request.target);
      return this.video.handle(source, request);
    }
    if (request.range === undefined) return this.handleImage(source, request);
    const response = this.handleImage(source, request);
    const range = request.range;
    return response instanceof Promise ? response.then((settled) => respondRange(settled, range)) : respondRange(response, range);
  }

  private handleImage(source: ResolvedSource, request: DeliveryRequest): DeliveryResponse | Promise<DeliveryResponse> {
    let route = this.route(source, request.target);
    // Before any cache tier: a taken-down asset, or a composite using one, is never served, not even a hit.
    this.takedowns?.check(route.deps);
    const { expires } = route;
    if (expires !== undefined && expires * 1000 <= Date.now()) throw new PictorError('URL_EXPIRED', 'This URL has expired.');
    if (route.hints) {
      const hints = readHints(route.hints, request.hints ?? {});
      if (hints) route = withHints(route, source, hints);
    }
    const format = acceptClass(route.params, request.accept);
    const key = (route.keys[format] ??= `${route.key}\n${format}`);
    const context = { ifNoneMatch: request.ifNoneMatch, expires };
    const inMemory = this.tiers.derivatives.fromMemory(key);
    const plain = route.headers.length === 0 && route.download === undefined;
    if (inMemory) this.checkContent(inMemory.meta);
    if (inMemory) return plain ? respondHit(inMemory, context, 'memory') : withRouteHeaders(respondHit(inMemory, context, 'memory'), route);
    const response = this.handleMiss({ ...route, source, format, key }, context);
    return plain ? response : response.then((settled) => withRouteHeaders(settled, route));
  }

  /** The request's route; one that cannot be parsed (a bad parameter, say) still answers 451 if its path is taken down. */
  private route(source: ResolvedSource, target: string): Route {
    try {
      return this.routes.route(source, target);
    } catch (error) {
      if (this.takedowns && this.takedowns.size > 0) this.checkTakedown(source, target);
      throw error;
    }
  }

  /** Answers 451 (throws) if the request's path, whatever its parameters, is taken down. */
  private checkTakedown(source: ResolvedSource, target: string): void {
    const queryStart = target.indexOf('?');
    let path: string | undefined;
    try {
      path = canonicalPath(queryStart === -1 ? target : target.slice(0, queryStart));
    } catch {
      return; // not a path at all: the request fails for its own reason
    }
    this.takedowns?.check([assetRef(source.record.id, path)]);
  }

  /**
   * Throws TAKEN_DOWN (451) when a derivative was built from content under a takedown, reached through
   * whatever Source or path: every answer goes through it, hits included (takedown/takedown-gate.ts).
   */
  private checkContent(meta: DerivativeMeta): void {
    if (this.takedowns !== undefined && this.takedowns.size > 0) this.takedowns.checkContent(meta.content ?? []);
  }

  private async handleMiss(job: Job, context: ResponseContext): Promise<DeliveryResponse> {
    const onDisk = await this.tiers.derivatives.fromDisk(job.key, job.group);
    if (onDisk) this.checkContent(onDisk.meta);
    if (onDisk) return respondHit(onDisk, context, 'disk');
    if (!job.source.record.enabled) throw new PictorError('SOURCE_DISABLED', 'This Source is disabled.');

    const { promise, joined } = this.renders.run(job.key, job.deps, (builtAt) => this.miss(job, builtAt));
    const { derivative, origin, stored } = await promise;
    // Also for a render joined or started before a takedown that has closed the gate since.
    this.checkContent(derivative.meta);
    const originStatus = origin === 'miss' ? 'fwd=miss' : 'hit';
    // Checked again as the headers are built: a purge applied while this rendered must keep edges from storing it.
    const fresh = this.freshness.isFresh(derivative.meta.deps, derivative.meta.builtAt);
    return respond(derivative, context, `Pictor-Origin; ${originStatus}, Pictor; fwd=miss${stored ? '; stored' : ''}${joined ? '; collapsed' : ''}`, fresh);
  }

  /** Builds the derivative for a miss (a render, a passed-through file or a cacheable error) and stores it. */
  private async miss(job: Job, builtAt: number): Promise<MissResult> {
    const { master, result } = await this.tiers.originCache.get(job.source.record, job.source.origin, job.path);
    const own = masterContent(master.meta);
    // Content taken down through another Source or path is neither rendered nor cached.
    this.takedowns?.checkContent(own);
    let output: Output;
    if (master.meta.kind === 'missing') {
      output = errorOutput(404, 'Asset not found.');
    } else if (detectImageFormat(master.body) === null && !rendersPdf(master.body, job.params)) {
      output = passThrough(master.body, master.meta.contentType);
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
        // The master's own list, shared by its derivatives, unless sub-images add theirs.
        content: output.subContent?.length ? [...own, ...output.subContent] : own,
        varyAccept: job.varyAccept,
      },
    };
    const stored = this.tiers.derivatives.store(job.key, job.group, derivative);
    return { derivative, origin: result, stored };
  }

  private async renderImage(master: Master, job: Job): Promise<Output> {
    const subContent: ContentId[] = [];
    const subImages = await this.loadSubImages(job, subContent);
    const started = performance.now();
    const output = await this.renderer.render(master.body, job.params, {
      acceptClass: job.format,
      decoded: { masters: this.tiers.decodedMasters, masterKey: `${job.deps[0]}#${master.meta.hash}` },
      subImages,
    });
    this.observers.render((performance.now() - started) / 1000, output.format);
    return { status: 200, contentType: output.contentType, body: output.body, subContent };
  }

  /**
   * Encoded sub-images for the renderer; a layer whose image is missing or not an image is left out. The
   * content ids of every layer are added to `content`.
   */
  private async loadSubImages(job: Job, content: ContentId[]): Promise<{ mark?: Buffer; blend?: Buffer; mask?: Buffer }> {
    const layers: { mark?: Buffer; blend?: Buffer; mask?: Buffer } = {};
    await Promise.all(
      job.subImages.map(async (sub) => {
        const body = await this.loadSubImage(sub, content);
        if (body) layers[sub.layer] = body;
      }),
    );
    return layers;
  }

  private async loadSubImage(sub: SubImage, content: ContentId[]): Promise<Buffer | undefined> {
    if (!sub.source.record.enabled) return undefined;
    const { master } = await this.tiers.originCache.get(sub.source.record, sub.source.origin, sub.path);
    const own = masterContent(master.meta);
    // A layer taken down through another Source or path makes the whole image unavailable, as its own URL does.
    this.takedowns?.checkContent(own);
    content.push(...own);
    if (master.meta.kind !== 'found' || detectImageFormat(master.body) === null) return undefined;
    if (!sub.hasOwnParams) return master.body;
    return (await this.renderer.render(master.body, sub.params, { acceptClass: '' })).body;
  }
}

interface Job extends Route {
  source: ResolvedSource;
  format: string;
}

interface Output {
  status: number;
  contentType: string;
  body: Buffer;
  /** The content ids of the sub-images it was composed with. */
  subContent?: ContentId[];
}

interface MissResult {
  derivative: Derivative;
  origin: OriginCacheResult;
  stored: boolean;
}

/**
 * Adds the URL's own headers (routes.ts `Route.headers`, and `dl`'s Content-Disposition, named after the
 * format actually served) to a rendered answer; errors and passed-through files go without them.
 */
function withRouteHeaders(response: DeliveryResponse, route: Route): DeliveryResponse {
  if (response.status !== 200 && response.status !== 304) return response;
  const headers = [...response.headers, ...route.headers];
  if (route.download !== undefined) {
    const contentType = response.headers[response.headers.indexOf('content-type') + 1] ?? '';
    headers.push('content-disposition', contentDisposition(route.download, contentType, route.path));
  }
  return { ...response, headers };
}

/**
 * A file that is not rendered. Security invariant: it is served only as the media its bytes are, with the type
 * those bytes decide (render/media-types.ts), whatever its name or its origin's type say; anything else
 * (HTML, scripts, stylesheets, JSON, text, unknown bytes) is refused with 415, so the render listener never
 * serves a page or a script of its own origin.
 */
function passThrough(body: Buffer, originType: string): Output {
  const contentType = passThroughType(body, originType);
  if (contentType !== undefined) return { status: 200, contentType, body };
  const message = `This file is not served: its bytes are ${describeBytes(body)}, and only images, videos, audio and PDF documents are.`;
  const refusal = new PictorError('UNSUPPORTED_MEDIA_TYPE', message);
  return errorOutput(refusal.status, refusal.message);
}

function errorOutput(status: number, message: string): Output {
  return { status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${message}\n`) };
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

