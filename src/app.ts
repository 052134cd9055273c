import type { AddressInfo } from 'node:net';
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
import { configureSharp } from './render/runtime.ts';
import { RenderQueue } from './delivery/render-queue.ts';
import { AdminAccounts } from './dashboard/accounts.ts';
import { Sessions } from './dashboard/session.ts';
import { createAdminServer } from './http/admin-server.ts';
import { createRenderServer, type RenderListener } from './http/render-server.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { PurgeApplier } from './purge/purge-applier.ts';
import { PurgeService } from './purge/purge-service.ts';
import { SourceRegistry, type RegistryOptions } from './sources/registry.ts';
import { SourceService } from './sources/source-service.ts';
import { ApiKeyStore } from './store/api-key-store.ts';
import { getMeta, openDatabase, setMeta, type Db } from './store/db.ts';
import { GroupCommit } from './store/group-commit.ts';
import { PurgeStore } from './store/purge-store.ts';
import { SourceStore } from './store/source-store.ts';

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
}

/** One Pictor node: the store, the cache tiers, the purge pipeline and the two listeners, wired once. */
export class Pictor {
  readonly logger: Logger;
  readonly metrics: Metrics;
  private db: Db | undefined;
  private render: RenderListener | undefined;
  private admin: FastifyInstance | undefined;
  private applier: PurgeApplier | undefined;
  private disk: DiskStore<MasterMeta | DerivativeMeta> | undefined;

  constructor(
    private readonly options: PictorOptions,
    private readonly hooks: PictorHooks = {},
  ) {
    this.logger = createLogger(options.logLevel);
    this.metrics = createMetrics();
  }

  async start(): Promise<StartedPictor> {
    const { options, logger, metrics } = this;
    configureSharp(options.renderThreads);
    const db = (this.db = openDatabase(options.dataDir));
    const sourceStore = new SourceStore(db);
    const purgeStore = new PurgeStore(db);
    const keys = new ApiKeys(new ApiKeyStore(db));

    const registryOptions = {
      assetsDir: options.assetsDir,
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

    const freshness = new Freshness(purgeStore.marks(), Number(getMeta(db, 'seq_reserved') ?? 0), (upTo) => setMeta(db, 'seq_reserved', String(upTo)));
    const disk = (this.disk = new DiskStore<MasterMeta | DerivativeMeta>(path.join(options.dataDir, 'cache'), options.diskCacheBytes, (error) =>
      logger.warn({ err: error }, 'disk cache'),
    ));
    const { ready } = await disk.init();
    void ready.then(() => logger.debug({ files: disk.files, bytes: disk.bytes }, 'disk cache index rebuilt'));

    const originCache = new OriginCache(freshness, disk as DiskStore<MasterMeta>, new MemoryLru(options.masterMemoryBytes), (seconds, outcome) =>
      metrics.originFetchSeconds.observe({ outcome }, seconds),
    );
    const derivatives = new DerivativeCache(freshness, disk as DiskStore<DerivativeMeta>, new MemoryLru(options.memoryCacheBytes));
    const queue = new RenderQueue(options.renderConcurrency, options.renderQueueLimit);
    const decodedMasters = new DecodedMasters(options.decodedMemoryBytes);
    const delivery = new DeliveryService(sources, freshness, { originCache, derivatives, decodedMasters }, queue, options, {
      render: (seconds, format) => metrics.renderSeconds.observe({ format }, seconds),
    });

    const commits = new GroupCommit(db);
    const applier = (this.applier = new PurgeApplier(freshness, sources, originCache, disk, purgeStore, commits, {
      concurrency: 32,
      retryDelaysMs: [200, 1000, 3000],
      onCompleted: (record) => metrics.purgeCompletionSeconds.observe({ status: record.status }, ((record.completedAt ?? Date.now()) - record.createdAt) / 1000),
      onError: (error, record) => logger.warn({ err: error, purge: record.id }, 'purge could not be applied'),
    }));
    const purges = new PurgeService(sources, purgeStore, commits, applier);
    const sourceService = new SourceService(sourceStore, {
      baseDomain: options.baseDomain,
      onChanged: (record) => sources.changed(record.id),
      // PATCH with `purge_derivatives: true`: a rendering change applies to what is already cached too.
      onRenderingChanged: async (sourceId) => void (await purges.purgeSource(sourceId, 'sources API (purge_derivatives)')),
    });
    const recoveredPurges = purges.recover();
    if (recoveredPurges > 0) logger.info({ purges: recoveredPurges }, 'recovered acknowledged purges; their assets are already invalidated');
    metrics.probes.purgeQueueDepth = () => applier.depth;
    metrics.probes.renderQueueDepth = () => queue.depth;

    const render = (this.render = createRenderServer(delivery, metrics, logger));
    const renderUrl = displayUrl(await render.listen(options.host, options.port));
    const dashboard = {
      keys,
      purges,
      purgeStore,
      sources: sourceService,
      accounts,
      sessions: new Sessions(db),
      defaultSourceId,
      baseDomain: options.baseDomain,
      publicUrl: options.publicUrl,
      renderUrl: () => renderUrl,
      signInLimiter: new RateLimiter(5 / 60, 5),
    };
    const admin = (this.admin = createAdminServer({ keys, purges, purgeLimiter: new RateLimiter(options.purgeRateLimit), sources: sourceService, metrics, logger, dashboard }));
    await admin.listen({ host: options.adminHost, port: options.adminPort });
    const adminUrl = displayUrl(admin.server.address() as AddressInfo);
    logger.info({ render: renderUrl, admin: adminUrl, data: options.dataDir, assets: options.assetsDir }, 'Pictor is ready');
    return { renderUrl, adminUrl, firstApiKey, firstAdminPassword, defaultSourceId, recoveredPurges };
  }

  /** Graceful stop: refuse new requests, finish in-flight requests and purges, close the store. */
  async stop(): Promise<void> {
    await Promise.all([this.render?.close(), this.admin?.close()]);
    await this.applier?.stop();
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
