import type { AddressInfo } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiKeys } from './auth/api-keys.ts';
import { RateLimiter } from './auth/rate-limit.ts';
import { DerivativeCache, type DerivativeMeta } from './cache/derivative-cache.ts';
import { DiskStore } from './cache/disk-store.ts';
import { Freshness } from './cache/freshness.ts';
import { MemoryLru } from './cache/memory-lru.ts';
import { OriginCache, type MasterMeta } from './cache/origin-cache.ts';
import type { PictorOptions } from './config/options.ts';
import { DeliveryService } from './delivery/delivery-service.ts';
import { DecodedMasters } from './render/decoded-masters.ts';
import { EdgePurger } from './edges/edge-purger.ts';
import { edgeKeysForPurge } from './edges/edge-keys.ts';
import { EdgeService } from './edges/edge-service.ts';
import { EdgePhase } from './purge/edge-phase.ts';
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
import { PurgeApplier } from './purge/purge-applier.ts';
import { LocalPurges } from './purge/local-purges.ts';
import type { Purges } from './purge/purges.ts';
import { PurgeRetention } from './purge/retention.ts';
import { PurgeSearchIndex } from './purge/search-index.ts';
import { SourceRegistry, type RegistryOptions } from './sources/registry.ts';
import { SourceService } from './sources/source-service.ts';
import { ApiKeyStore } from './store/api-key-store.ts';
import { getMeta, openDatabase, setMeta, type Db } from './store/db.ts';
import { DeviceStore } from './store/device-store.ts';
import { SqliteEdgeStore } from './store/edge-store.ts';
import { GroupCommit } from './store/group-commit.ts';
import { storeFault } from './store/store-errors.ts';
import { PurgeStore } from './store/purge-store.ts';
import { openSecrets } from './store/secret-keys.ts';
import { SourceStore } from './store/source-store.ts';

/** How often the purge history is compacted (see purge/retention.ts). */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** How often new purges are added to the Purges search index (see purge/search-index.ts). */
const SEARCH_INDEX_INTERVAL_MS = 1000;

export interface StartedPictor {
  renderUrl: string;
  adminUrl: string;
  /** The admin API key created on the very first start, shown once; undefined afterwards. */
  firstApiKey: string | undefined;
  /** The dashboard's `admin` password, created (and shown once) on the first start; undefined afterwards. */
  firstAdminPassword: string | undefined;
  defaultSourceId: string;
  recoveredPurges: number;
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
  private searchIndex: PurgeSearchIndex | undefined;
  private db: Db | undefined;
  private render: RenderListener | undefined;
  private admin: FastifyInstance | undefined;
  private purges: Purges | undefined;
  private edgePurger: EdgePurger | undefined;
  private edgePhase: EdgePhase | undefined;
  private disk: DiskStore<MasterMeta | DerivativeMeta> | undefined;
  private isolated: IsolatedRenderer | undefined;


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
    const db = (this.db = openDatabase(options.dataDir));
    let sourceStore: SourceStore;
    try {
      sourceStore = new SourceStore(db, openSecrets(db, options.dataDir, options.secretKeys));
      const { sealed, resealed } = sourceStore.sealAll();
      if (sealed + resealed > 0) logger.info({ sealed, resealed }, 'Source secrets encrypted with the current key');
    } catch (error) {
      // A missing or wrong key: the caller reports it (SecretKeyError); nothing was changed.
      db.close();
      this.db = undefined;
      throw error;
    }
    const purgeStore = new PurgeStore(db);
    const keys = new ApiKeys(new ApiKeyStore(db));

    const registryOptions = {
      assetsDir: options.assetsDir,
      folderRoots: options.folderRoots,
      publicUrl: options.publicUrl,
      maxInputBytes: options.maxInputBytes,
      outboundAllow: options.outboundAllow,
      originTimeoutSeconds: options.originTimeoutSeconds,
      baseDomain: options.baseDomain,
      originInterceptor: this.hooks.originInterceptor,
    };
    const defaultSourceId = SourceRegistry.ensureDefaultSource(sourceStore, registryOptions, getMeta(db, 'default_source_id'));
    setMeta(db, 'default_source_id', defaultSourceId);
    let firstApiKey: string | undefined;
    if (getMeta(db, 'initialized') === undefined) {
      firstApiKey = keys.create('admin (first start)', ['admin']).key;
      setMeta(db, 'initialized', new Date().toISOString());
    }
    // The dashboard's admin account: on the first start (or the first since the dashboard exists), with a random password.
    const accounts = new AdminAccounts(db);
    const firstAdminPassword = await accounts.ensureAdmin();
    const sources = new SourceRegistry(sourceStore, registryOptions, defaultSourceId);

    const freshness = new Freshness(
      purgeStore.marks(),
      Number(getMeta(db, 'seq_reserved') ?? 0),
      (upTo) => setMeta(db, 'seq_reserved', String(upTo)),
      purgeStore.floor(),
    );
    const disk = (this.disk = new DiskStore<MasterMeta | DerivativeMeta>(path.join(options.dataDir, 'cache'), options.diskCacheBytes, {
      health: (problem) => health.report('disk-cache', problem),
      writeError: (code) => metrics.cacheWriteErrors.inc({ code }),
      error: (error) => logger.warn({ err: error }, 'disk cache'),
    }));
    const { ready } = await disk.init();
    void ready.then(() => logger.debug({ files: disk.files, bytes: disk.bytes }, 'disk cache index rebuilt'));

    const originCache = new OriginCache(freshness, disk as DiskStore<MasterMeta>, new MemoryLru(options.masterMemoryBytes), (seconds, outcome) =>
      metrics.originFetchSeconds.observe({ outcome }, seconds),
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
    const delivery = new DeliveryService(sources, freshness, { originCache, derivatives, decodedMasters }, renderer, {
      render: (seconds, format) => metrics.renderSeconds.observe({ format }, seconds),
    });

    const edgePurger = (this.edgePurger = new EdgePurger());
    const edges = new EdgeService(new SqliteEdgeStore(db), edgePurger);
    const edgePhase = (this.edgePhase = new EdgePhase(edges, edgePurger, (scopes) => scopes.flatMap(edgeKeysForPurge), (error) =>
      logger.debug({ err: error }, 'the second purge of the edges failed'),
    ));
    let nodeName = 'this node';
    const commits = new GroupCommit(db, (problem) => health.report('store', problem));
    const applier = new PurgeApplier(freshness, sources, originCache, disk, purgeStore, commits, {
      concurrency: 32,
      retryDelaysMs: [200, 1000, 3000],
      propagate: async (_record, scopes) => ({ nodes: { applied: [nodeName], fenced: [] }, edges: await edgePhase.propagate(scopes) }),
      onCompleted: (record) => metrics.purgeCompletionSeconds.observe({ status: record.status }, ((record.completedAt ?? Date.now()) - record.createdAt) / 1000),
      // A store that cannot write is reported once, as the `store` health condition; other failures each time.
      onError: (error, record) => logger[storeFault(error) ? 'debug' : 'warn']({ err: error, purge: record.id }, 'purge could not be applied'),
    });
    const purges = new LocalPurges(sources, purgeStore, commits, applier);
    this.purges = purges;
    const sourceService = new SourceService(sourceStore, {
      baseDomain: options.baseDomain,
      folderRoots: options.folderRoots,
      onChanged: (record) => sources.changed(record.id),
      // PATCH with `purge_derivatives: true`: a rendering change applies to what is already cached too.
      onRenderingChanged: async (sourceId) => void (await purges.purgeSource(sourceId, 'sources API (purge_derivatives)')),
    });
    const recoveredPurges = purges.recover();
    const retention = (this.purgeRetention = new PurgeRetention(purgeStore, freshness, {
      retentionMs: options.purgeRetentionSeconds * 1000,
      intervalMs: RETENTION_INTERVAL_MS,
      onCompacted: (result) => {
        if (result.purgesDeleted + result.marksDeleted > 0) logger.info(result, 'purge history compacted');
      },
      onError: (error) => logger.warn({ err: error }, 'purge history could not be compacted; trying again later'),
    }));
    retention.start();
    const searchIndex = (this.searchIndex = new PurgeSearchIndex(purgeStore, {
      intervalMs: SEARCH_INDEX_INTERVAL_MS,
      onError: (error) => logger.debug({ err: error }, 'the Purges search index could not be updated; trying again later'),
    }));
    searchIndex.start();
    if (recoveredPurges > 0) logger.info({ purges: recoveredPurges }, 'recovered acknowledged purges; their assets are already invalidated');
    metrics.probes.purgeQueueDepth = () => applier.depth;
    metrics.probes.renderQueueDepth = () => admission.depth;
    metrics.probes.renderMemoryBytes = () => admission.bytesInUse;

    const render = (this.render = createRenderServer(delivery, metrics, logger, health));
    const renderAddress = await render.listen(options.host, options.port);
    const renderUrl = displayUrl(renderAddress);
    nodeName = `${hostname()}:${renderAddress.port}`;
    const dashboard = {
      keys,
      purges,
      sources: sourceService,
      accounts,
      sessions: new Sessions(db),
      defaultSourceId,
      baseDomain: options.baseDomain,
      publicUrl: options.publicUrl,
      renderUrl: () => renderUrl,
      devices: new TrustedDevices(new DeviceStore(db)),
      signInLimiter: this.hooks.signInLimiter ?? new SignInLimiter(),
    };
    const admin = (this.admin = createAdminServer({ keys, purges, purgeLimiter: new RateLimiter(options.purgeRateLimit), sources: sourceService, edges, metrics, health, logger, dashboard }));
    await admin.listen({ host: options.adminHost, port: options.adminPort });
    const adminUrl = displayUrl(admin.server.address() as AddressInfo);
    logger.info({ render: renderUrl, admin: adminUrl, data: options.dataDir, assets: options.assetsDir }, 'Pictor is ready');
    return { renderUrl, adminUrl, firstApiKey, firstAdminPassword, defaultSourceId, recoveredPurges };
  }

  /** Graceful stop: refuse new requests, finish in-flight requests and purges, close the store. */
  async stop(): Promise<void> {
    await Promise.all([this.render?.close(), this.admin?.close()]);
    await this.purgeRetention?.stop();
    await this.searchIndex?.stop();
    await this.purges?.stop();
    this.edgePhase?.stop();
    await this.edgePurger?.close();
    await this.isolated?.close();
    await this.disk?.settled();
    this.db?.close();
    this.db = undefined;
  }
}

/** A URL a person can open: a wildcard bind address is shown as localhost. */
function displayUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
