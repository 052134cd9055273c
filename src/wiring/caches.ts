import path from 'node:path';
import { availableParallelism } from 'node:os';
import { AssetIndexer } from '../assets/asset-indexer.ts';
import { DerivativeCache, type DerivativeMeta } from '../cache/derivative-cache.ts';
import { DiskStore } from '../cache/disk-store.ts';
import type { FreshnessView } from '../cache/freshness.ts';
import { MemoryLru } from '../cache/memory-lru.ts';
import { OriginCache, type MasterMeta } from '../cache/origin-cache.ts';
import { PurgedSpace } from '../cache/purged-space.ts';
import { RenderAdmission } from '../delivery/render-admission.ts';
import { Renderer } from '../delivery/renderer.ts';
import { DecodedMasters } from '../render/decoded-masters.ts';
import { IsolatedRenderer } from '../render/isolated-renderer.ts';
import { DEFAULT_OUTPUT_LIMITS } from '../render/pipeline.ts';
import type { Stores } from '../store/stores.ts';
import type { NodeContext } from './node.ts';

export interface Caches {
  disk: DiskStore<MasterMeta | DerivativeMeta>;
  originCache: OriginCache;
  derivatives: DerivativeCache;
  decodedMasters: DecodedMasters;
  /** What purges free in these tiers, and count of them (cache/purged-space.ts). */
  purgedSpace: PurgedSpace;
}

/**
 * The cache tiers, fresh by the purge log's marks (`freshness`). A log shared by a cluster numbers purges for
 * the whole cluster, so the cache files live under its id: numbers of another database's log mean nothing.
 * Assets are indexed as they are first served: the origin cache tells of every file it fetched.
 */
export async function startCaches(node: NodeContext, stores: Stores, freshness: FreshnessView): Promise<Caches> {
  const { options, logger, metrics, health } = node;
  const shared = stores.purgeLog.shared;
  const cacheDir = path.join(options.dataDir, shared ? `cache-${(await shared.id()).slice(0, 8)}` : 'cache');
  const disk = new DiskStore<MasterMeta | DerivativeMeta>(cacheDir, options.diskCacheBytes, {
    health: (problem) => health.report('disk-cache', problem),
    writeError: (code) => metrics.cacheWriteErrors.inc({ code }),
    error: (error) => logger.warn({ err: error }, 'disk cache'),
  });
  const { ready } = await disk.init();
  void ready.then(() => logger.debug({ files: disk.files, bytes: disk.bytes }, 'disk cache index rebuilt'));
  const indexer = new AssetIndexer(stores.assets, (error) => logger.debug({ err: error }, 'an asset could not be indexed'));
  const originCache = new OriginCache(
    freshness,
    disk as DiskStore<MasterMeta>,
    new MemoryLru(options.masterMemoryBytes),
    (seconds, outcome) => metrics.originFetchSeconds.observe({ outcome }, seconds),
    (sourceId, assetPath, master) => indexer.served(sourceId, assetPath, master),
  );
  const purgedSpace = new PurgedSpace(originCache, disk);
  node.onStop('parts', () => purgedSpace.stop());
  node.onStop('parts', () => indexer.stop());
  node.onStop('parts', () => disk.settled());
  return {
    disk,
    originCache,
    derivatives: new DerivativeCache(freshness, disk as DiskStore<DerivativeMeta>, new MemoryLru(options.memoryCacheBytes)),
    decodedMasters: new DecodedMasters(options.decodedMemoryBytes),
    purgedSpace,
  };
}

/** Renders, admitted by their cost (delivery/render-admission.ts), in processes of their own. */
export function startRendering(node: NodeContext): { renderer: Renderer; admission: RenderAdmission } {
  const { options, logger, metrics } = node;
  const heavyConcurrency = Math.max(1, Math.floor(availableParallelism() / 2));
  const admission = new RenderAdmission({
    lightConcurrency: options.renderConcurrency,
    heavyConcurrency,
    memoryBytes: options.renderMemoryBytes,
    queueLimit: options.renderQueueLimit,
    heavyQueueLimit: 4 * heavyConcurrency,
  });
  const isolated = new IsolatedRenderer({
    threads: options.renderThreads,
    onCrash: (reason) => logger.warn({ reason }, 'a render process ended unexpectedly'),
  });
  node.onStop('parts', () => isolated.close());
  metrics.probes.renderQueueDepth = () => admission.depth;
  metrics.probes.renderMemoryBytes = () => admission.bytesInUse;
  const renderer = new Renderer(admission, isolated, {
    maxInputPixels: options.maxInputPixels,
    renderTimeoutSeconds: options.renderTimeoutSeconds,
    outputLimits: DEFAULT_OUTPUT_LIMITS,
  });
  return { renderer, admission };
}
