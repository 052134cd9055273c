import type { DiskStore } from './disk-store.ts';
import { assetGroup } from './layout.ts';
import type { OriginCache } from './origin-cache.ts';

/** How long after applying a purge another node completes this node frees the cache space it made stale. */
const FREE_AFTER_MS = 1000;

/** A purge as this node applied it (store/purge-log.ts `LogEntry`). */
interface AppliedPurge {
  seq: number;
  match: string;
  sourceId: string;
  path: string;
}

/**
 * What a purge does to this node's cache tiers beyond freshness: it counts the cached entries of the asset it
 * purges (`matched`), and frees the space it made stale. Stale entries are never served, so freeing only gives
 * space back; a prefix purge leaves it to reads and the LRU.
 */
export class PurgedSpace {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly originCache: OriginCache,
    private readonly disk: DiskStore<unknown>,
  ) {}

  /** Cached entries of an asset (an exact purge's `matched`). */
  matched(sourceId: string, path: string): number {
    return this.disk.countGroup(assetGroup(sourceId, path));
  }

  /**
   * Frees what the purges of a cluster's log made stale (every node's, this one's included), a moment after
   * this node applied them: deleting thousands of files for a popular asset is event-loop and disk work, kept
   * out of the time the coordinating node waits for this one, out of the answers to the requests waiting for
   * the purge's completion, and out of the way of its origin verdict (which compares with the master cached
   * before it).
   */
  followed(purges: readonly AppliedPurge[]): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const purge of purges) this.free(purge);
    }, FREE_AFTER_MS);
    timer.unref();
    this.timers.add(timer);
  }

  /** Frees no more (at stop). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Frees what a purge made stale, now (a single node, at the purge's completion: its verdict is in). A
   * master fetched since the purge is kept.
   */
  free(purge: AppliedPurge): void {
    if (purge.match === 'exact') this.originCache.dropAsset(purge.sourceId, purge.path, purge.seq);
    else if (purge.match === 'source') this.disk.dropGroup(purge.sourceId);
  }
}
