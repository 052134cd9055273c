import type { ContentId } from '../sources/origin.ts';
import type { DiskStore } from './disk-store.ts';
import { bufferBytes, compact, stringBytes } from './footprint.ts';
import { scopesCovering, type AssetRef, type FreshnessView } from './freshness.ts';
import { entryName } from './layout.ts';
import type { MemoryLru } from './memory-lru.ts';

/** A rendered output, a passed-through file, or a cached error (404 and other render refusals). */
export interface DerivativeMeta {
  status: number;
  contentType: string;
  etag: string;
  /** Cache-Control max-age to serve with, in seconds. */
  maxAge: number;
  /** When to render again (the master's TTL, or the error TTL). */
  expiresAt: number;
  builtAt: number;
  /** The assets it was built from: the asset itself, then any sub-images. */
  deps: AssetRef[];
  /**
   * The content it was built from, whatever Source or path led there: the origin object and bytes of the
   * asset and of each sub-image (sources/origin.ts `ContentId`), which the takedown gate checks on every hit.
   * Empty for a missing asset. Absent in entries written by older versions: see `usable`.
   */
  content?: ContentId[];
  varyAccept: boolean;
}

export type Tier = 'memory' | 'disk';

/**
 * A derivative's objects besides its body: the record, its metadata with the ETag, the dependency and
 * content id lists, and the header blocks its first hits build (one per tier).
 */
const DERIVATIVE_OBJECT_BYTES = 1856;

export interface Derivative {
  meta: DerivativeMeta;
  body: Buffer;
  /** Response header blocks for hits, by the tier that answered: built on the first hit, then reused. */
  hitHeads?: Partial<Record<Tier, string[]>>;
}

/** Rendered outputs: a bounded in-memory tier for hot items over the disk tier. */
export class DerivativeCache {
  constructor(
    private readonly freshness: FreshnessView,
    private readonly disk: DiskStore<DerivativeMeta>,
    private readonly memory: MemoryLru<Derivative>,
  ) {}

  /** The memory tier alone, synchronously: a hot hit never waits for a promise. */
  fromMemory(key: string): Derivative | undefined {
    const inMemory = this.memory.get(key);
    if (!inMemory) return undefined;
    if (this.usable(inMemory.meta, Date.now())) return inMemory;
    this.memory.delete(key);
    return undefined;
  }

  /** The disk tier; a usable entry is promoted to memory. Call after `fromMemory` missed. */
  async fromDisk(key: string, group: string): Promise<Derivative | undefined> {
    const onDisk = await this.disk.read(group, entryName(key));
    if (!onDisk) return undefined;
    if (!this.usable(onDisk.meta, Date.now())) {
      void this.disk.remove(group, entryName(key));
      return undefined;
    }
    const derivative = { meta: onDisk.meta, body: compact(onDisk.body) };
    this.memory.set(key, derivative, derivativeBytes(derivative));
    return derivative;
  }

  /**
   * Stores only if no purge of its deps was applied since its render started (the compare-and-set). True
   * when it is on its way to the disk tier — what Cache-Status calls `stored`: kept beyond the memory tier,
   * which holds only the hottest entries. False when a purge intervened, or the disk tier dropped the write
   * (degraded, or too many writes waiting); the memory tier may still hold it then.
   */
  store(key: string, group: string, derivative: Derivative): boolean {
    if (!this.freshness.isFresh(derivative.meta.deps, derivative.meta.builtAt)) return false;
    derivative.body = compact(derivative.body);
    this.memory.set(key, derivative, derivativeBytes(derivative));
    return this.disk.write(group, entryName(key), derivative.meta, derivative.body);
  }

  /**
   * Fresh, unexpired, and with its content ids. An entry an older version wrote has none, so no takedown
   * could be checked against it, and an edge would file its response under no content key: it is never
   * served, but rendered again (once: the new entry replaces it) from the master, itself revalidated if it
   * lacks its origin object (cache/origin-cache.ts).
   */
  private usable(meta: DerivativeMeta, now: number): boolean {
    return meta.expiresAt > now && meta.content !== undefined && this.freshness.isFresh(meta.deps, meta.builtAt);
  }
}

/** One edge key and its separator in a header value (edges/edge-keys.ts: a kind prefix and 20 hex digits). */
const EDGE_KEY_CHARS = 23;
/** The array that holds a derivative's edge-key headers and its entry in the table that keeps it. */
const EDGE_HEADER_OBJECT_BYTES = 256;

function derivativeBytes(derivative: Derivative): number {
  return bufferBytes(derivative.body) + DERIVATIVE_OBJECT_BYTES + edgeHeaderBytes(derivative.meta);
}

/**
 * The edge-key headers its responses carry (`xkey`, `Cache-Tag`, `Surrogate-Key`: delivery/respond.ts), each
 * listing every key once: one per scope covering a dependency (folders included) and one per content id.
 */
function edgeHeaderBytes(meta: DerivativeMeta): number {
  const keys = meta.deps.reduce((count, dep) => count + scopesCovering(dep).length, 0) + (meta.content?.length ?? 0);
  return 3 * stringBytes('') + 3 * keys * EDGE_KEY_CHARS + EDGE_HEADER_OBJECT_BYTES;
}
