import { createHash } from 'node:crypto';
import type { SourceRecord } from '../store/source-record.ts';
import { contentIds, type ContentId, type Origin, type OriginObject, type OriginResult, type Validators } from '../sources/origin.ts';
import { Coalescer } from './coalescer.ts';
import type { DiskStore } from './disk-store.ts';
import { bufferBytes, compact } from './footprint.ts';
import { assetRef, type FreshnessView } from './freshness.ts';
import type { MemoryLru } from './memory-lru.ts';
import { assetGroup } from './layout.ts';
import { originTtlSeconds } from './ttl.ts';

/** A master as cached: the origin's bytes, or the fact that the asset is missing (a negative entry). */
export interface MasterMeta {
  kind: 'found' | 'missing';
  contentType: string;
  validators: Validators;
  cacheControl: string | undefined;
  /** SHA-256 of the body, to tell a replaced asset from a touched one (and, with `object`, a takedown's content). */
  hash: string;
  /**
   * What the origin served (sources/origin.ts `OriginObject`), for found masters. Masters cached by older
   * versions have none: they are revalidated (a conditional fetch, which names the object) before use.
   */
  object?: OriginObject;
  builtAt: number;
  expiresAt: number;
  /** The Cache-Control max-age derivatives of this master are served with. */
  maxAge: number;
}

export interface Master {
  meta: MasterMeta;
  body: Buffer;
}

export type OriginCacheResult = 'hit' | 'miss' | 'revalidated';

export type OriginVerdict = 'removed' | 'replaced' | 'unchanged';

const MASTER_FILE = 'master';

/** A master's objects besides its body: the record, its metadata (validators, content hash, origin object, types) and its content id list. */
const MASTER_OBJECT_BYTES = 1100;

/**
 * The origin cache: masters fetched from Sources, in memory and on disk, revalidated conditionally when
 * their TTL runs out. Concurrent misses for one asset share one origin fetch.
 */
export class OriginCache {
  private readonly fetches: Coalescer<Master>;

  constructor(
    private readonly freshness: FreshnessView,
    private readonly disk: DiskStore<MasterMeta>,
    private readonly memory: MemoryLru<Master>,
    private readonly observeFetch: (seconds: number, outcome: string) => void = () => {},
    /**
     * Told of every file an origin fetch brought (new bytes, not a 304): the Asset Manager indexes assets as
     * they are first served. Called synchronously, so it must only queue its work; a listener that throws
     * is ignored, never failing the render that fetched.
     */
    private readonly onFetched: (sourceId: string, path: string, master: Master) => void = () => {},
  ) {
    this.fetches = new Coalescer(freshness);
  }

  /**
   * The master of an asset, from a tier or the origin. `told: false`: a file this call fetches is not told of
   * (`onFetched`), for a caller that records it itself, and must record nothing when it fails.
   */
  async get(source: SourceRecord, origin: Origin, path: string, options: { told?: boolean } = {}): Promise<{ master: Master; result: OriginCacheResult }> {
    const ref = assetRef(source.id, path);
    const cached = await this.lookup(source.id, path);
    if (cached && cached.meta.expiresAt > Date.now() && !lacksObject(cached.meta)) return { master: cached, result: 'hit' };
    const told = options.told ?? true;
    const { promise } = this.fetches.run(ref, [ref], (builtAt) => this.fetch(source, origin, path, builtAt, cached, told));
    const master = await promise;
    return { master, result: cached && master.body === cached.body ? 'revalidated' : 'miss' };
  }

  /**
   * For a purge's `origin` verdict: reads the master cached now (even if stale), and answers a question to
   * the origin that compares what it has with that master. Asked again on a retry, it compares with the same
   * master, whatever was fetched or freed meanwhile. The origin's answer is not cached: the purge makes every
   * earlier entry stale anyway.
   */
  async verdictAsker(source: SourceRecord, origin: Origin, path: string): Promise<() => Promise<OriginVerdict>> {
    const cached = await this.lookup(source.id, path, { evenIfStale: true });
    const known = cached?.meta.kind === 'found' ? cached : undefined;
    return async () => {
      const now = await this.timed(() => origin.fetch(path, known?.meta.validators));
      if (now.kind === 'missing') return 'removed';
      if (now.kind === 'not-modified' || !known) return 'unchanged';
      return sha256(now.body) === known.meta.hash ? 'unchanged' : 'replaced';
    };
  }

  /**
   * Drops every cached file of the asset (master and derivatives) in the background, and the master in
   * memory if it was built before the purge numbered `purgedAt` (one fetched since is kept).
   */
  dropAsset(sourceId: string, path: string, purgedAt: number): void {
    const ref = assetRef(sourceId, path);
    const inMemory = this.memory.get(ref);
    if (inMemory && inMemory.meta.builtAt < purgedAt) this.memory.delete(ref);
    this.disk.dropGroup(assetGroup(sourceId, path));
  }

  private async lookup(sourceId: string, path: string, options: { evenIfStale?: boolean } = {}): Promise<Master | undefined> {
    const ref = assetRef(sourceId, path);
    const inMemory = this.memory.get(ref);
    if (inMemory && (options.evenIfStale || this.freshness.isFresh([ref], inMemory.meta.builtAt))) return inMemory;
    const onDisk = await this.disk.read(assetGroup(sourceId, path), MASTER_FILE);
    if (!onDisk) return undefined;
    if (!this.freshness.isFresh([ref], onDisk.meta.builtAt)) {
      if (options.evenIfStale) return onDisk;
      void this.disk.remove(assetGroup(sourceId, path), MASTER_FILE);
      return undefined;
    }
    const master = { meta: onDisk.meta, body: compact(onDisk.body) };
    this.memory.set(ref, master, masterBytes(master));
    return master;
  }

  private async fetch(source: SourceRecord, origin: Origin, path: string, builtAt: number, stale: Master | undefined, told: boolean): Promise<Master> {
    const result = await this.timed(() => origin.fetch(path, stale?.meta.kind === 'found' ? stale.meta.validators : undefined));
    const master = toMaster(source, result, builtAt, stale);
    this.store(source.id, path, master);
    if (result.kind === 'found' && told) {
      try {
        this.onFetched(source.id, path, master);
      } catch {
        // bookkeeping only: the render goes on
      }
    }
    return master;
  }

  /** Stores only if no purge of the asset was applied since the fetch started (the compare-and-set). */
  private store(sourceId: string, path: string, master: Master): void {
    const ref = assetRef(sourceId, path);
    if (!this.freshness.isFresh([ref], master.meta.builtAt)) return;
    master.body = compact(master.body);
    this.memory.set(ref, master, masterBytes(master));
    this.disk.write(assetGroup(sourceId, path), MASTER_FILE, master.meta, master.body);
  }

  private async timed(fetch: () => Promise<OriginResult>): Promise<OriginResult> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const result = await fetch();
      outcome = result.kind;
      return result;
    } finally {
      this.observeFetch((performance.now() - started) / 1000, outcome);
    }
  }
}

function toMaster(source: SourceRecord, result: OriginResult, builtAt: number, stale: Master | undefined): Master {
  const now = Date.now();
  if (result.kind === 'not-modified' && stale) {
    const cacheControl = result.cacheControl ?? stale.meta.cacheControl;
    const ttl = originTtlSeconds(source.deployment, cacheControl);
    // Same bytes: keep the original `builtAt`, so derivatives built from them stay valid too.
    const meta = { ...stale.meta, validators: result.validators, cacheControl, expiresAt: now + ttl * 1000, maxAge: ttl, object: result.object };
    return { body: stale.body, meta };
  }
  if (result.kind === 'found') {
    const ttl = originTtlSeconds(source.deployment, result.cacheControl);
    return {
      body: result.body,
      meta: {
        kind: 'found',
        contentType: result.contentType,
        validators: result.validators,
        cacheControl: result.cacheControl,
        hash: sha256(result.body),
        object: result.object,
        builtAt,
        expiresAt: now + ttl * 1000,
        maxAge: ttl,
      },
    };
  }
  const errorTtl = source.deployment.cache_ttl_error;
  return {
    body: Buffer.alloc(0),
    meta: { kind: 'missing', contentType: 'text/plain', validators: {}, cacheControl: undefined, hash: '', builtAt, expiresAt: now + errorTtl * 1000, maxAge: errorTtl },
  };
}

/** Content id lists by master: the derivatives of one master share one list (and its strings). */
const contentLists = new WeakMap<MasterMeta, ContentId[]>();

/**
 * The content a master is, as takedowns match it: its origin object and its bytes (none for a missing
 * asset). The list is shared: never change it.
 */
export function masterContent(meta: MasterMeta): ContentId[] {
  let content = contentLists.get(meta);
  if (content === undefined) contentLists.set(meta, (content = meta.kind === 'found' ? contentIds(meta.object, meta.hash) : []));
  return content;
}

/** A found master cached by a version that did not record origin objects. */
function lacksObject(meta: MasterMeta): boolean {
  return meta.kind === 'found' && meta.object === undefined;
}

function masterBytes(master: Master): number {
  return bufferBytes(master.body) + MASTER_OBJECT_BYTES;
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
