import { assetRef, type AssetRef } from '../cache/freshness.ts';
import { PictorError } from '../errors.ts';
import type { TakedownStore } from '../store/takedown-store.ts';

/**
 * The 451 gate of the render listener: the assets under an active takedown, as a set of asset refs held in
 * memory, so checking a request costs one `size` test while there are none, and a lookup per dependency
 * (the asset and its sub-images) otherwise. The set is the store's, loaded at start and reloaded whenever
 * takedowns change here (before the API answers) or elsewhere (the store's `watch`).
 */
export class TakedownGate {
  private blocked = new Set<AssetRef>();
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

  /** Blocks an asset at once, before the reload that confirms it (a takedown just recorded here). */
  block(sourceId: string, path: string): void {
    this.blocked.add(assetRef(sourceId, path));
  }

  /** Whether this asset is under a takedown (for outputs served outside the image flow, such as video). */
  blocks(sourceId: string, path: string): boolean {
    return this.blocked.size > 0 && this.blocked.has(assetRef(sourceId, path));
  }

  /** Throws TAKEN_DOWN (451) when the asset or any image it is composed with (`deps`) is under a takedown. */
  check(deps: readonly AssetRef[]): void {
    if (this.blocked.size === 0) return;
    for (const dep of deps) {
      if (this.blocked.has(dep)) {
        throw new PictorError('TAKEN_DOWN', 'This asset is unavailable for legal reasons: it, or an image it is composed with, has been taken down.', {
          ...(this.refusalHeaders && { headers: this.refusalHeaders }),
        });
      }
    }
  }

  get size(): number {
    return this.blocked.size;
  }

  private async load(): Promise<void> {
    const assets = await this.store.active();
    this.blocked = new Set(assets.map((asset) => assetRef(asset.sourceId, asset.path)));
  }
}
