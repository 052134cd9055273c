import type { OriginCache } from '../cache/origin-cache.ts';
import { PictorError } from '../errors.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import type { Purges } from '../purge/purges.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import type { AssetEdit, AssetKey, AssetListing, AssetRecord, AssetStore, VideoStatus } from '../store/asset-store.ts';
import type { Outbox } from '../store/webhook-store.ts';
import { masterFile, mediaFacts, type OriginFileFacts } from './media.ts';
import { checkUploadFile, checkUploadPath } from './upload-check.ts';

/** Called when an asset was refreshed or uploaded: the Video API reprocesses it if its bytes changed. */
export type RefreshListener = (sourceId: string, path: string) => Promise<void>;

export interface AssetServiceOptions {
  /** How long a refresh waits for its purge to complete before answering 503 (the purge still completes). */
  purgeWaitMs: number;
  /** How often a waiting refresh reads its purge's status. */
  purgePollMs: number;
  /** The events a refresh reports, written with the index's change (store/webhook-store.ts). */
  outbox?: { refreshed?: Outbox<AssetRecord>; removed?: Outbox<AssetKey> };
}

/**
 * The Asset Manager: the index of each Source's assets (store/asset-store.ts) and what changes them. Assets
 * are indexed when first served (from the origin cache, in the background: asset-indexer.ts), added,
 * uploaded (written through the Source's origin) or refreshed. A refresh purges every cached output of the
 * asset through `Purges` and waits until that purge has completed, so once it answers no old output is
 * served; then it tells the refresh listeners (the Video API).
 *
 * Paths are canonical (sources/asset-path.ts), as renders and purges name assets.
 */
export class AssetService {
  private readonly refreshListeners: RefreshListener[] = [];

  constructor(
    private readonly store: AssetStore,
    private readonly sources: SourceRegistry,
    private readonly originCache: OriginCache,
    private readonly purges: Purges,
    private readonly options: AssetServiceOptions,
  ) {}

  /** Adds a listener run (in order, awaited) at the end of every refresh, uploads included, and of one that found the file gone. */
  onRefresh(listener: RefreshListener): void {
    this.refreshListeners.push(listener);
  }

  /** The Source, or 404. */
  source(sourceId: string): ResolvedSource {
    const source = this.sources.get(sourceId);
    if (!source) throw new PictorError('UNKNOWN_SOURCE', `No Source has the id "${sourceId}".`);
    return source;
  }

  list(listing: AssetListing): Promise<AssetRecord[]> {
    this.source(listing.sourceId);
    return this.store.list(listing);
  }

  async get(sourceId: string, path: string): Promise<AssetRecord> {
    this.source(sourceId);
    return (await this.store.get(sourceId, path)) ?? notIndexed(path);
  }

  async edit(sourceId: string, path: string, edit: AssetEdit): Promise<AssetRecord> {
    this.source(sourceId);
    return (await this.store.edit(sourceId, path, edit, Date.now())) ?? notIndexed(path);
  }

  /**
   * Records the Video API's state of a video (null: none). An asset not indexed yet (a request that started
   * processing can arrive before the background indexer has written it) is added from its origin first.
   */
  async setVideoStatus(sourceId: string, path: string, status: VideoStatus | null): Promise<void> {
    if (await this.store.setVideoStatus(sourceId, path, status)) return;
    await this.add(sourceId, path);
    await this.store.setVideoStatus(sourceId, path, status);
  }

  /** Indexes an asset from its origin (through the origin cache); 404 when the origin does not have it. */
  async add(sourceId: string, path: string): Promise<AssetRecord> {
    const source = this.source(sourceId);
    const { master } = await this.originCache.get(source.record, source.origin, path);
    if (master.meta.kind !== 'found') throw notAtOrigin(path);
    return this.index(sourceId, path, masterFile(master));
  }

  /**
   * Writes a file through the Source's origin, then refreshes the asset: a cached 404 or an older version
   * of it is purged before this answers. Its path and bytes are checked first (upload-check.ts): only media
   * are written, with a type and a name that fit their bytes.
   */
  async upload(sourceId: string, path: string, file: { body: Buffer; contentType: string; overwrite: boolean }, requestedBy: string | undefined): Promise<{ record: AssetRecord; created: boolean }> {
    const source = this.source(sourceId);
    if (!source.origin.write) {
      throw new PictorError('BAD_REQUEST', `Uploads go to folder, s3, s3_compatible and gcs Sources; this Source is of type "${source.record.deployment.type}".`);
    }
    checkUploadPath(path);
    const contentType = checkUploadFile(path, file.body, file.contentType);
    const outcome = await source.origin.write(path, { ...file, contentType });
    const record = await this.refresh(sourceId, path, requestedBy);
    return { record, created: outcome === 'created' };
  }

  /**
   * Revalidates the asset at its origin and purges every cached output of it (the purge asks the origin, as
   * every exact purge does), waits until that purge has completed, indexes what the origin has now, and
   * runs the refresh listeners. An asset gone from its origin is forgotten, and answered 404.
   */
  async refresh(sourceId: string, path: string, requestedBy: string | undefined): Promise<AssetRecord> {
    const source = this.source(sourceId);
    const purge = await this.completed((await this.purges.purgeAsset(sourceId, path, requestedBy)).record);
    if (purge.origin === 'unknown') {
      const reason = purge.originError ?? 'no answer';
      throw new PictorError(
        'ORIGIN_UNAVAILABLE',
        `The origin could not be revalidated: ${reason}. Every cached output of ${path} was purged; refresh it again once the origin answers.`,
      );
    }
    // Indexed here, and only here: a refresh refused because its write failed must leave the index as it was,
    // so the background indexer is not told of this fetch.
    const { master } = await this.originCache.get(source.record, source.origin, path, { told: false });
    if (master.meta.kind !== 'found') {
      await this.store.remove(sourceId, path, this.options.outbox?.removed);
      // Told too: what else keeps outputs of the file (the Video API) deletes them.
      for (const listener of this.refreshListeners) await listener(sourceId, path);
      throw new PictorError('ASSET_NOT_FOUND', `${path} is no longer at the origin: every cached output of it was purged, and it was removed from the Asset Manager.`);
    }
    const record = await this.index(sourceId, path, masterFile(master), this.options.outbox?.refreshed);
    for (const listener of this.refreshListeners) await listener(sourceId, path);
    return record;
  }

  private async index(sourceId: string, path: string, file: OriginFileFacts, outbox?: Outbox<AssetRecord>): Promise<AssetRecord> {
    return this.store.index(sourceId, path, await mediaFacts(file, path), Date.now(), outbox);
  }

  /** The purge once it is no longer pending, read every `purgePollMs` for up to `purgeWaitMs`. */
  private async completed(record: PurgeRecord): Promise<PurgeRecord> {
    const deadline = Date.now() + this.options.purgeWaitMs;
    let current: PurgeRecord | undefined = record;
    while (current?.status === 'pending') {
      if (Date.now() >= deadline) {
        throw new PictorError('OVERLOADED', `The purge of this refresh (${record.id}) has not completed within ${this.options.purgeWaitMs / 1000} s; it will, and GET /api/v1/purges/${record.id} tells when.`, {
          headers: { 'retry-after': '5' },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.purgePollMs));
      current = await this.purges.get(record.id);
    }
    return current ?? record;
  }
}

function notIndexed(path: string): never {
  throw new PictorError('NOT_FOUND', `${path} is not in the Asset Manager: it is indexed once it is served, added (POST …/assets/add${path}) or uploaded.`);
}

function notAtOrigin(path: string): PictorError {
  return new PictorError('ASSET_NOT_FOUND', `${path} is not at the Source's origin.`);
}
