import { assetRef, type AssetRef } from '../cache/freshness.ts';
import { PictorError } from '../errors.ts';
import { contentIds, type ContentId } from '../sources/origin.ts';
import type { TakedownStore, TakenDownAsset } from '../store/takedown-store.ts';

/**
 * The 451 gate of the render listener, held in memory: loaded at start and reloaded whenever takedowns change
 * here (before the API answers) or elsewhere (the store's `watch`). It holds two things per takedown:
 *
 * - the asset ref (Source and canonical path) named by its URL, checked on the request's route before any
 *   cache tier, so every variant of that URL is refused, even one whose parameters are invalid;
 * - its content ids: the origin object the URL resolved to and the SHA-256 of its bytes when it was taken
 *   down (sources/origin.ts `ContentId`). Every answer built from an origin file is checked against them —
 *   on a memory hit, a disk hit and a miss, for the asset and each sub-image (delivery/delivery-service.ts),
 *   and for every Video API output (video/video-service.ts) — so no other Source, domain, path spelling,
 *   symlink or copy leads to the content.
 *
 * Security invariant: while a takedown is active, nothing built from its object or its bytes is served. The
 * checks cost one `size` test while nothing is taken down, and a set lookup per ref or content id otherwise.
 */
export class TakedownGate {
  private blocked = new Set<AssetRef>();
  private content = new Set<ContentId>();
  /** The reload waiting to start: calls made meanwhile join it. */
  private pending: Promise<void> | undefined;
  /** The last reload asked for, settled or not: the next one starts after it. */
  private chain: Promise<void> = Promise.resolve();
  private stopWatching: (() => Promise<void>) | undefined;
  private readonly refusalHeaders: Record<string, string> | undefined;

  /**
   * @param blockedBy who blocks (RFC 7725's `Link: <…>; rel="blocked-by"`): the operator's public URL, when known.
   */
  constructor(
    private readonly store: TakedownStore,
    blockedBy: URL | undefined,
  ) {
    this.refusalHeaders = blockedBy ? { link: `<${blockedBy.origin}/>; rel="blocked-by"` } : undefined;
  }

  /** Loads the takedowns and follows changes made elsewhere; `onError` hears of reloads that failed (the set is kept then). */
  async open(onError: (error: unknown) => void): Promise<void> {
    await this.reload();
    this.stopWatching = await this.store.watch(() => void this.reload().catch(onError));
  }

  async close(): Promise<void> {
    await this.stopWatching?.();
    this.stopWatching = undefined;
  }

  /**
   * Reads the active takedowns again. A reload asked for while one runs starts after it, so once the promise
   * resolves the set holds at least everything committed before the call.
   */
  reload(): Promise<void> {
    this.pending ??= this.chain.then(() => {
      this.pending = undefined;
      return this.load();
    });
    const next = this.pending;
    this.chain = next.catch(() => {});
    return next;
  }

  /** Blocks an asset and its content at once, before the reload that confirms it (a takedown just recorded here). */
  block(asset: TakenDownAsset): void {
    this.blocked.add(assetRef(asset.sourceId, asset.path));
    for (const id of contentIds(asset.originObject, asset.sha256)) this.content.add(id);
  }

  /** Throws TAKEN_DOWN (451) when the asset or any image it is composed with (`deps`) is under a takedown. */
  check(deps: readonly AssetRef[]): void {
    if (this.blocked.size === 0) return;
    for (const dep of deps) {
      if (this.blocked.has(dep)) throw this.refusal();
    }
  }

  /**
   * Throws TAKEN_DOWN (451) when any of this content (origin objects, SHA-256s) is under a takedown, whatever
   * Source or path it was reached by.
   */
  checkContent(content: readonly ContentId[]): void {
    if (this.content.size === 0) return;
    for (const id of content) {
      if (this.content.has(id)) throw this.refusal();
    }
  }

  /** Active takedowns: 0 means no check can refuse anything. */
  get size(): number {
    return this.blocked.size;
  }

  private refusal(): PictorError {
    return new PictorError('TAKEN_DOWN', 'This asset is unavailable for legal reasons: it, or an image it is composed with, has been taken down.', {
      ...(this.refusalHeaders && { headers: this.refusalHeaders }),
    });
  }

  private async load(): Promise<void> {
    const assets = await this.store.active();
    this.blocked = new Set(assets.map((asset) => assetRef(asset.sourceId, asset.path)));
    this.content = new Set(assets.flatMap((asset) => contentIds(asset.originObject, asset.sha256)));
  }
}
