import type { AssetStore } from '../store/asset-store.ts';
import { mediaFacts, type OriginFileFacts } from './media.ts';

/** Assets waiting to be indexed, at most: past it, newly served assets wait for their next origin fetch. */
const MAX_PENDING = 1000;
/**
 * Bodies kept for their dimensions while waiting, in bytes: the bodies are the origin cache's own buffers
 * (nothing is copied), but one the cache evicts meanwhile would be held here alone. Past this, an asset
 * waits without its body and is indexed without dimensions.
 */
const MAX_PENDING_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Indexes assets as the origin cache fetches them, in the background, one at a time: the render that fetched
 * never waits for it, and a failure (the store cannot write, a header sharp cannot read) is reported and
 * dropped — the next fetch of the asset tries again.
 */
export class AssetIndexer {
  private readonly pending = new Map<string, { sourceId: string; path: string; file: OriginFileFacts }>();
  private bodyBytes = 0;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: AssetStore,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Queues an asset the origin cache fetched (the origin cache's `onFetched`). */
  served(sourceId: string, path: string, master: { body: Buffer; meta: { contentType: string; hash: string } }): void {
    const key = `${sourceId}\n${path}`;
    if (this.stopped || (this.pending.size >= MAX_PENDING && !this.pending.has(key))) return;
    this.forget(key);
    const keepBody = this.bodyBytes + master.body.length <= MAX_PENDING_BODY_BYTES;
    if (keepBody) this.bodyBytes += master.body.length;
    const file = { body: keepBody ? master.body : undefined, size: master.body.length, contentType: master.meta.contentType, hash: master.meta.hash };
    this.pending.set(key, { sourceId, path, file });
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves once nothing is waiting or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops what waits and lets the running one finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    this.bodyBytes = 0;
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (let next = this.pending.entries().next(); !next.done; next = this.pending.entries().next()) {
      const [key, { sourceId, path, file }] = next.value;
      this.forget(key);
      try {
        await this.index(sourceId, path, file);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** Nothing is written when the index already has these bytes: serving an asset again costs one read. */
  private async index(sourceId: string, path: string, file: OriginFileFacts): Promise<void> {
    const known = await this.store.get(sourceId, path);
    if (known && known.contentHash === file.hash && known.contentType === file.contentType) return;
    await this.store.index(sourceId, path, await mediaFacts(file, path), Date.now());
  }

  private forget(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    if (entry.file.body) this.bodyBytes -= entry.file.body.length;
    this.pending.delete(key);
  }
}
