import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiKeys } from './auth/api-keys.ts';
import { AssetIndexer } from './assets/asset-indexer.ts';
import { AssetService } from './assets/asset-service.ts';
import { DerivativeCache, type DerivativeMeta } from './cache/derivative-cache.ts';
import { DiskStore } from './cache/disk-store.ts';
import { MemoryLru } from './cache/memory-lru.ts';
import { OriginCache, type MasterMeta } from './cache/origin-cache.ts';
import { bootstrap, type Bootstrapped } from './bootstrap.ts';
import { defaultNodeId, type PictorOptions } from './config/options.ts';
import { DeliveryService } from './delivery/delivery-service.ts';
import { DecodedMasters } from './render/decoded-masters.ts';
import { EdgePurger } from './edges/edge-purger.ts';
import { contentEdgeKeys } from './edges/edge-keys.ts';
import { EdgeService } from './edges/edge-service.ts';
import { EdgePhase } from './edges/edge-phase.ts';
import { configureSharp } from './render/runtime.ts';
import { RenderAdmission } from './delivery/render-admission.ts';
import { Renderer } from './delivery/renderer.ts';
import { IsolatedRenderer } from './render/isolated-renderer.ts';
import { DEFAULT_OUTPUT_LIMITS } from './render/pipeline.ts';
import { AdminAccounts } from './dashboard/accounts.ts';
import { TrustedDevices } from './dashboard/devices.ts';
import { Sessions } from './dashboard/session.ts';
import { SignInLimiter } from './dashboard/sign-in-limiter.ts';
import { createAdminServer } from './http/admin-server.ts';
import { createRenderServer, type RenderListener } from './http/render-server.ts';
import { Health } from './observability/health.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import type { PurgeRecord } from './store/purge-log.ts';
import { BackgroundJob } from './purge/background-job.ts';
import { PurgeCoordinator } from './purge/coordinator.ts';
import { PurgeLedger } from './purge/ledger.ts';
import { PurgeRetention } from './purge/retention.ts';
import { VerdictStep } from './purge/verdict.ts';
import { PurgedSpace } from './cache/purged-space.ts';
import { nodeMembership, type Membership } from './cluster/membership.ts';
import { PurgeSearchIndex } from './purge/search-index.ts';
import { SourceRegistry, type RegistryOptions } from './sources/registry.ts';
import { contentIds } from './sources/origin.ts';
import { OutboundPreflight } from './sources/outbound-guard.ts';
import { SourceService } from './sources/source-service.ts';
import { openStores } from './store/open-stores.ts';
import { storeFault } from './store/store-errors.ts';
import type { Stores } from './store/stores.ts';
import { TakedownGate } from './takedown/takedown-gate.ts';
import { Takedowns } from './takedown/takedowns.ts';
import { startVideo } from './video/index.ts';
import type { VideoService } from './video/video-service.ts';

/** How often the purge history is compacted (see purge/retention.ts). */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** How often new purges are added to the Purges search index (see purge/search-index.ts). */
const SEARCH_INDEX_INTERVAL_MS = 1000;
/** Asset refreshes per API key: imgix's 10 a minute. */
const ASSET_REFRESHES_PER_MINUTE = 10;
/** How long an asset refresh waits for its purge to complete (a cluster's purge may wait out a node's lease). */
const ASSET_REFRESH_WAIT_MS = 30_000;

export interface StartedPictor {
  renderUrl: string;
  adminUrl: string;
  /** The admin API key created on the very first start, shown once; undefined afterwards. */
  firstApiKey: string | undefined;
  /** The dashboard's `admin` password, created (and shown once) on the first start; undefined afterwards. */
  firstAdminPassword: string | undefined;
  defaultSourceId: string;
  recoveredPurges: number;
  /** This node's name in a cluster (`--node-id`, else `<hostname>:<render port>`). */
  nodeId: string;
  /** Where the stores are: `SQLite at …` or `PostgreSQL at host:port/db`. */
  store: string;
  /** The ffmpeg and ffprobe the Video API uses, or why it is off. */
  video: string;
}

export interface PictorHooks {
  originInterceptor?: RegistryOptions['originInterceptor'];
  /** The dashboard's sign-in limiter (tests pass one whose clock they move). */
  signInLimiter?: SignInLimiter;
}

/** One Pictor node: the store, the cache tiers, the purge pipeline and the two listeners, wired once. */
export class Pictor {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Conditions the node is degraded by while it keeps serving; parts that can fail that way report here. */
  readonly health: Health;
  /** Compacts the purge history (hourly on its own; operators and tests may run it now). */
  purgeRetention: PurgeRetention | undefined;
  /** Takedowns; `onTakedown` hooks connect outputs a purge does not reach (set once started). */
  takedowns: Takedowns | undefined;
  private takedownGate: TakedownGate | undefined;
  private searchIndex: PurgeSearchIndex | undefined;
  private stores: Stores | undefined;
  private sources: SourceRegistry | undefined;
  private render: RenderListener | undefined;
  private admin: FastifyInstance | undefined;
  private ledger: PurgeLedger | undefined;
  private purges: PurgeCoordinator | undefined;
  private membership: Membership | undefined;
  private purgedSpace: PurgedSpace | undefined;
  private edgePurger: EdgePurger | undefined;
  private edgePhase: EdgePhase | undefined;
  private disk: DiskStore<MasterMeta | DerivativeMeta> | undefined;
  private isolated: IsolatedRenderer | undefined;
  private assetIndexer: AssetIndexer | undefined;
  private videoRecheck: BackgroundJob<Record<string, number>> | undefined;
  /** Video states on their way to the Assets API (a stop waits for them before closing the store). */
  private readonly videoStates = new Set<Promise<void>>();
  /** The Asset Manager; `assets.onRefresh` connects refreshes to the Video API. */
  assets: AssetService | undefined;
  /** The Video API's state and processing (refresh, remove, state, recheck for the Assets API). */
  video: VideoService | undefined;


  constructor(
    private readonly options: PictorOptions,
    private readonly hooks: PictorHooks = {},
  ) {
    this.logger = createLogger(options.logLevel);
    this.metrics = createMetrics();
    this.health = new Health(this.logger);
    this.metrics.probes.healthConditions = () => this.health.conditions();
  }

  async start(): Promise<StartedPictor> {
    const { options, logger, metrics, health } = this;
    configureSharp(options.renderThreads);
    // A missing or wrong secret key stops the start here (SecretKeyError, reported by the caller); nothing was changed.
    const stores = (this.stores = await openStores({ ...options, onWriteOutcome: (problem) => health.report('store', problem) }));
    const keys = new ApiKeys(stores.apiKeys);

    const registryOptions = {
      assetsDir: options.assetsDir,
      folderRoots: options.folderRoots,
      publicUrl: options.publicUrl,
      maxInputBytes: options.maxInputBytes,
      outboundAllow: options.outboundAllow,
      originTimeoutSeconds: options.originTimeoutSeconds,
      baseDomain: options.baseDomain,
      originInterceptor: this.hooks.originInterceptor,
      onError: (error: unknown) => logger.warn({ err: error }, 'Sources changed elsewhere could not be read; serving the ones in memory'),
    };
    const { defaultSourceId, firstApiKey, firstAdminPassword, sources } = await this.prepareStores(stores, registryOptions);
    const accounts = new AdminAccounts(stores.accounts);

    // Freshness from the purge log's snapshot. A shared log's sequence numbers are the cluster's, so cache
    // files live under its id: numbers of another database's log would mean nothing.
    const ledger = (this.ledger = await PurgeLedger.open(stores.purgeLog));
    const freshness = ledger.view;
    const shared = stores.purgeLog.shared;
    const cacheDir = path.join(options.dataDir, shared ? `cache-${(await shared.id()).slice(0, 8)}` : 'cache');
    const disk = (this.disk = new DiskStore<MasterMeta | DerivativeMeta>(cacheDir, options.diskCacheBytes, {
      health: (problem) => health.report('disk-cache', problem),
      writeError: (code) => metrics.cacheWriteErrors.inc({ code }),
      error: (error) => logger.warn({ err: error }, 'disk cache'),
    }));
    const { ready } = await disk.init();
    void ready.then(() => logger.debug({ files: disk.files, bytes: disk.bytes }, 'disk cache index rebuilt'));

    // Assets are indexed as they are first served: the origin cache tells of every file it fetched.
    const assetStore = stores.assets;
    const assetIndexer = (this.assetIndexer = new AssetIndexer(assetStore, (error) => logger.debug({ err: error }, 'an asset could not be indexed')));
    const originCache = new OriginCache(
      freshness,
      disk as DiskStore<MasterMeta>,
      new MemoryLru(options.masterMemoryBytes),
      (seconds, outcome) => metrics.originFetchSeconds.observe({ outcome }, seconds),
      (sourceId, assetPath, master) => assetIndexer.served(sourceId, assetPath, master),
    );
    const derivatives = new DerivativeCache(freshness, disk as DiskStore<DerivativeMeta>, new MemoryLru(options.memoryCacheBytes));
    const heavyConcurrency = Math.max(1, Math.floor(availableParallelism() / 2));
    const admission = new RenderAdmission({
      lightConcurrency: options.renderConcurrency,
      heavyConcurrency,
      memoryBytes: options.renderMemoryBytes,
      queueLimit: options.renderQueueLimit,
      heavyQueueLimit: 4 * heavyConcurrency,
    });
    const isolated = (this.isolated = new IsolatedRenderer({
      threads: options.renderThreads,
      onCrash: (reason) => logger.warn({ reason }, 'a render process ended unexpectedly'),
    }));
    const renderer = new Renderer(admission, isolated, {
      maxInputPixels: options.maxInputPixels,
      renderTimeoutSeconds: options.renderTimeoutSeconds,
      outputLimits: DEFAULT_OUTPUT_LIMITS,
    });
    const decodedMasters = new DecodedMasters(options.decodedMemoryBytes);
    // Takedowns are loaded before anything is served, and followed as other nodes or processes change them.
    const takedownStore = stores.takedowns;
    const takedownGate = (this.takedownGate = new TakedownGate(takedownStore, options.publicUrl));
    await takedownGate.open((error) => logger.warn({ err: error }, 'takedowns changed elsewhere could not be read; keeping the ones in memory'));
    // The Assets API shows each video's processing state; the Asset Manager is built further down.
    const late: { assets?: AssetService } = {};
    const video = await startVideo(
      options,
      stores.videos,
      sources,
      renderer,
      (error, what) => logger.warn({ err: error }, `video: failed ${what}`),
      (sourceId, path, state) => {
        const shown = late.assets
          ?.setVideoStatus(sourceId, path, state)
          .catch((error: unknown) => logger.debug({ err: error }, 'a video state could not be shown in the Assets API'))
          .finally(() => this.videoStates.delete(shown!));
        if (shown) this.videoStates.add(shown);
      },
      (content) => takedownGate.checkContent(content),
    );
    this.video = video.service;
    logger.info({ video: video.describe }, 'Video API');
    const delivery = new DeliveryService(
      sources,
      freshness,
      { originCache, derivatives, decodedMasters },
      renderer,
      { render: (seconds, format) => metrics.renderSeconds.observe({ format }, seconds) },
      takedownGate,
      video.delivery,
    );

    // The render listener opens first (its port names the node), but answers 503 until the node has caught up
    // with the purge log: nothing is served before every purge this node missed is applied.
    const membership = (this.membership = nodeMembership(stores, ledger, {
      leaseSeconds: options.nodeLeaseSeconds,
      serveWhenIsolated: options.serveWhenIsolated,
      onError: (error, during) => logger.warn({ err: error }, `cluster: failed ${during}; trying again`),
    }));
    const unavailable = (): string | undefined => membership.unavailableReason();
    const render = (this.render = createRenderServer(delivery, metrics, logger, health, unavailable));
    const renderAddress = await render.listen(options.host, options.port);
    const renderUrl = displayUrl(renderAddress);
    logListening(logger, 'render', renderAddress);
    const nodeId = options.nodeId ?? defaultNodeId(renderAddress.port);

    const edgePurger = (this.edgePurger = new EdgePurger());
    const edges = new EdgeService(stores.edges, edgePurger);
    const edgePhase = (this.edgePhase = new EdgePhase(edges, edgePurger, (error) => logger.debug({ err: error }, 'the second purge of the edges failed')));
    const purgedSpace = (this.purgedSpace = new PurgedSpace(originCache, disk));
    ledger.onApplied((entries) => purgedSpace.applied(entries));
    const verdict = new VerdictStep(async (record) => {
      const source = sources.get(record.sourceId);
      return source && originCache.verdictAsker(source.record, source.origin, record.path);
    }, [200, 1000, 3000]);
    // A store that cannot write is reported once, as the `store` health condition; other failures each time.
    const onPurgeError = (error: unknown, record: PurgeRecord): void =>
      logger[storeFault(error) ? 'debug' : 'warn']({ err: error, purge: record.id }, 'purge could not be applied');
    const purges = (this.purges = new PurgeCoordinator(
      ledger,
      sources,
      { matched: (sourceId, path) => purgedSpace.matched(sourceId, path), verdict, nodes: membership.nodes, edges: edgePhase },
      {
        nodeId: () => nodeId,
        // Longer than the longest a live coordinator takes (a lease, then the edges' tries): past it, another
        // node drives the purge.
        claimMs: options.nodeLeaseSeconds * 1000 + 3000,
        stopGraceMs: options.nodeLeaseSeconds * 1000 + 1500,
        onCompleted: (record) => metrics.purgeCompletionSeconds.observe({ status: record.status }, ((record.completedAt ?? Date.now()) - record.createdAt) / 1000),
        onError: onPurgeError,
      },
    ));
    await membership.join(nodeId);
    const recoveredPurges = await purges.start();
    if (recoveredPurges > 0) logger.info({ purges: recoveredPurges }, 'recovered acknowledged purges; their assets are already invalidated');
    this.startRetention(ledger);
    this.startSearchIndex(ledger);
    const takedowns = (this.takedowns = new Takedowns(takedownStore, sources, purges, takedownGate, (error, during) =>
      logger.warn({ err: error }, `takedown: failed ${during}`),
    ));
    const sourceService = new SourceService(stores.sources, {
      baseDomain: options.baseDomain,
      folderRoots: options.folderRoots,
      outbound: new OutboundPreflight(options.outboundAllow),
      onChanged: (record) => sources.changed(record),
      // PATCH with `purge_derivatives: true`: a rendering change applies to what is already cached too.
      onRenderingChanged: async (sourceId) => void (await purges.purgeSource(sourceId, 'sources API (purge_derivatives)')),
    });
    const assets = (this.assets = new AssetService(assetStore, sources, originCache, purges, { purgeWaitMs: ASSET_REFRESH_WAIT_MS, purgePollMs: 20 }));
    late.assets = assets;
    // A refresh reaches the Video API too: new bytes are encoded again (and the old outputs never served
    // again), the same bytes are not, and a video gone at the origin loses every output.
    assets.onRefresh(async (sourceId, path) => void (await video.service.refresh(sourceId, path)));
    // A takedown removes its content from the edges, under every URL it was cached at (its own URL's purge
    // does not reach the others, nor Video API outputs), and deletes every Video API output of the asset (the
    // 451 gate already blocks them).
    takedowns.onTakedown.push(async ({ originObject, sha256 }) => {
      await edgePhase.purgeKeys(contentEdgeKeys(contentIds(originObject, sha256)));
    });
    takedowns.onTakedown.push(async ({ sourceId, path }) => void (await video.service.remove(sourceId, path)));
    this.startVideoRecheck(video.service);
    metrics.probes.purgeQueueDepth = () => purges.depth;
    metrics.probes.renderQueueDepth = () => admission.depth;
    metrics.probes.renderMemoryBytes = () => admission.bytesInUse;

    const dashboard = {
      keys,
      purges,
      takedowns,
      sources: sourceService,
      assets,
      accounts,
      sessions: new Sessions(stores.sessions),
      defaultSourceId,
      baseDomain: options.baseDomain,
      publicUrl: options.publicUrl,
      renderUrl: () => renderUrl,
      devices: new TrustedDevices(stores.devices),
      signInLimiter: this.hooks.signInLimiter ?? new SignInLimiter(),
    };
    const admin = (this.admin = createAdminServer({
      keys,
      purges,
      purgeLimiter: stores.rateLimiter('purge', options.purgeRateLimit),
      sources: sourceService,
      edges,
      takedowns,
      assets: {
        service: assets,
        refreshLimiter: stores.rateLimiter('asset-refresh', ASSET_REFRESHES_PER_MINUTE / 60, ASSET_REFRESHES_PER_MINUTE),
        maxInputBytes: options.maxInputBytes,
      },
      metrics,
      health,
      logger,
      dashboard,
      unavailable,
    }));
    // Fastify would log one line per network interface of a wildcard address: this listener logs one, as the render one does.
    const adminLogLevel = admin.log.level;
    admin.log.level = 'warn';
    try {
      await admin.listen({ host: options.adminHost, port: options.adminPort });
    } finally {
      admin.log.level = adminLogLevel;
    }
    const adminUrl = displayUrl(admin.server.address() as AddressInfo);
    logListening(logger, 'admin', admin.server.address() as AddressInfo);
    await membership.announce({ render: renderUrl, admin: adminUrl });
    logger.info({ render: renderUrl, admin: adminUrl, data: options.dataDir, assets: options.assetsDir, store: stores.describe, node: nodeId }, 'Pictor is ready');
    return { renderUrl, adminUrl, firstApiKey, firstAdminPassword, defaultSourceId, recoveredPurges, nodeId, store: stores.describe, video: video.describe };
  }

  /**
   * Timed removal: processed videos are revalidated at their origin at least every `--video-recheck-interval`;
   * removed there → every output deleted (404), changed → encoded again.
   */
  private startVideoRecheck(video: VideoService): void {
    const intervalMs = this.options.videoRecheckIntervalSeconds * 1000;
    this.videoRecheck = new BackgroundJob(() => video.recheckOlderThan(intervalMs), {
      // Often enough that no video waits much past its interval, rarely enough to cost nothing.
      intervalMs: Math.max(1000, Math.min(intervalMs / 4, 60 * 60 * 1000)),
      onDone: (counts) => {
        if (counts.removed + counts.reprocessing > 0) this.logger.info(counts, 'videos rechecked at their origin');
      },
      onError: (error) => this.logger.warn({ err: error }, 'videos could not be rechecked; trying again later'),
    });
    this.videoRecheck.start(false);
  }

  /** Keeps the purge history bounded (see purge/retention.ts), in the background. */
  private startRetention(ledger: PurgeLedger): void {
    const { logger, options } = this;
    this.purgeRetention = new PurgeRetention(ledger, {
      retentionMs: options.purgeRetentionSeconds * 1000,
      intervalMs: RETENTION_INTERVAL_MS,
      onCompacted: (result) => {
        if (result.purgesDeleted + result.marksDeleted > 0) logger.info(result, 'purge history compacted');
      },
      onError: (error) => logger.warn({ err: error }, 'purge history could not be compacted; trying again later'),
    });
    this.purgeRetention.start();
  }

  /** The Purges search index is filled in the background (see purge/search-index.ts). */
  private startSearchIndex(ledger: PurgeLedger): void {
    this.searchIndex = new PurgeSearchIndex(ledger, {
      intervalMs: SEARCH_INDEX_INTERVAL_MS,
      onError: (error) => this.logger.debug({ err: error }, 'the Purges search index could not be updated; trying again later'),
    });
    this.searchIndex.start();
  }

  /** Graceful stop: refuse new requests, finish in-flight requests and purges, close the store. */
  async stop(): Promise<void> {
    await Promise.all([this.render?.close(), this.admin?.close()]);
    await this.video?.stop();
    await this.purgeRetention?.stop();
    await this.videoRecheck?.stop();
    await Promise.all(this.videoStates);
    await this.searchIndex?.stop();
    await this.purges?.stop();
    await this.membership?.stop();
    await this.ledger?.stop();
    this.purgedSpace?.stop();
    await this.assetIndexer?.stop();
    await this.takedownGate?.close();
    this.edgePhase?.stop();
    await this.edgePurger?.close();
    await this.isolated?.close();
    await this.disk?.settled();
    await this.closeStores();
  }

  /**
   * Before anything serves: every Source secret sealed with the current key, the first-start setup (default
   * Source, first admin key, dashboard password; safe with nodes starting at once), and the Sources in memory.
   * A failure closes the stores (the caller reports it: a SecretKeyError, a store fault).
   */
  private async prepareStores(stores: Stores, registryOptions: RegistryOptions): Promise<Bootstrapped & { sources: SourceRegistry }> {
    try {
      const { sealed, resealed } = await stores.sources.sealAll();
      if (sealed + resealed > 0) this.logger.info({ sealed, resealed }, 'Source secrets encrypted with the current key');
      const setup = await bootstrap(stores, this.options);
      const sources = (this.sources = await SourceRegistry.open(stores.sources, registryOptions, setup.defaultSourceId));
      return { ...setup, sources };
    } catch (error) {
      await this.closeStores();
      throw error;
    }
  }

  private async closeStores(): Promise<void> {
    await this.sources?.close();
    this.sources = undefined;
    await this.stores?.close();
    this.stores = undefined;
  }
}

/** A URL a person can open: a wildcard bind address is shown as localhost. */
/** One line per listener: the address it is bound to, and the URL to reach it by. */
function logListening(logger: Logger, listener: 'render' | 'admin', address: AddressInfo): void {
  const bound = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  logger.info({ listener, address: bound }, `${listener} listener listening at ${displayUrl(address)} (bound to ${bound})`);
}

function displayUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
