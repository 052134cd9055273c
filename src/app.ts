import type { PictorOptions } from './config/options.ts';
import { nodeMembership } from './cluster/membership.ts';
import { createFirstCredentials } from './first-start.ts';
import { DeliveryService } from './delivery/delivery-service.ts';
import { Health } from './observability/health.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { PurgeLedger } from './purge/ledger.ts';
import type { PurgeRetention } from './purge/retention.ts';
import { configureSharp } from './render/runtime.ts';
import type { AssetService } from './assets/asset-service.ts';
import type { Takedowns } from './takedown/takedowns.ts';
import type { VideoService } from './video/video-service.ts';
import { startCaches, startRendering } from './wiring/caches.ts';
import { listenAdmin, listenRender } from './wiring/listeners.ts';
import { NodeContext, type PictorHooks } from './wiring/node.ts';
import { startPurges } from './wiring/purges.ts';
import { openTakedownGate, startServices } from './wiring/services.ts';
import { openNodeStores } from './wiring/stores.ts';
import { startNodeVideo } from './wiring/video.ts';
import { startWebhooks } from './wiring/webhooks.ts';

export type { PictorHooks };

export interface StartedPictor {
  renderUrl: string;
  adminUrl: string;
  /** The admin API key, created (and shown once) by the first start that came up; undefined afterwards. */
  firstApiKey: string | undefined;
  /** The dashboard's `admin` password, created (and shown once) by the first start that came up; undefined afterwards. */
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

/**
 * One Pictor node: the stores, the cache tiers, rendering, the Video API, the purge pipeline and the two
 * listeners, started in that order (src/wiring/ starts each part, and says how it stops).
 */
export class Pictor {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Conditions the node is degraded by while it keeps serving; parts that can fail that way report here. */
  readonly health: Health;
  /** Compacts the purge history (hourly on its own; operators and tests may run it now). */
  purgeRetention: PurgeRetention | undefined;
  /** Takedowns; `onTakedown` hooks connect outputs a purge does not reach (set once started). */
  takedowns: Takedowns | undefined;
  /** The Asset Manager; `assets.onRefresh` connects refreshes to the Video API. */
  assets: AssetService | undefined;
  /** The Video API's state and processing (refresh, remove, state, recheck for the Assets API). */
  video: VideoService | undefined;
  private readonly node: NodeContext;

  constructor(options: PictorOptions, hooks: PictorHooks = {}) {
    this.logger = createLogger(options.logLevel);
    this.metrics = createMetrics();
    this.health = new Health(this.logger);
    this.metrics.probes.healthConditions = () => this.health.conditions();
    this.node = new NodeContext(options, hooks, this.logger, this.metrics, this.health);
  }

  /**
   * Starts the node. The render listener opens before the node has joined the nodes applying the purge log
   * (its port names the node), and answers 503 until then: nothing is served before every purge is applied.
   */
  async start(): Promise<StartedPictor> {
    try {
      return await this.startParts();
    } catch (error) {
      // What did start (the stores, a listener) is stopped again, so a failed start leaves nothing open.
      await this.node.stop().catch(() => {});
      throw error;
    }
  }

  private async startParts(): Promise<StartedPictor> {
    const { node } = this;
    configureSharp(node.options.renderThreads);
    const { stores, sources, setup } = await openNodeStores(node);
    const ledger = await PurgeLedger.open(stores.purgeLog);
    const caches = await startCaches(node, stores, ledger.view);
    const { renderer } = startRendering(node);
    const gate = await openTakedownGate(node, stores);
    const video = await startNodeVideo(node, stores, sources, renderer, gate);
    const observe = { render: (seconds: number, format: string) => this.metrics.renderSeconds.observe({ format }, seconds) };
    const delivery = new DeliveryService(sources, ledger.view, caches, renderer, observe, gate, video.video.delivery);
    const membership = nodeMembership(stores.nodes, ledger, {
      leaseSeconds: node.options.nodeLeaseSeconds,
      serveWhenIsolated: node.options.serveWhenIsolated,
      onError: (error, during) => this.logger.warn({ err: error }, `cluster: failed ${during}; trying again`),
    });
    const unavailable = (): string | undefined => membership.unavailableReason();
    const render = await listenRender(node, delivery, unavailable, stores);
    const purging = await startPurges(node, { stores, sources, ledger, caches, membership, nodeId: render.nodeId });
    const services = startServices(node, { stores, sources, caches, purging, gate, video });
    const webhooks = await startWebhooks(node, stores, render.nodeId);
    this.purgeRetention = purging.retention;
    this.takedowns = services.takedowns;
    this.assets = services.assets;
    this.video = video.video.service;
    const adminUrl = await listenAdmin(node, { stores, setup, services, purging, webhooks: webhooks.service, renderUrl: render.url, unavailable });
    await membership.announce({ render: render.url, admin: adminUrl });
    // Last, once nothing else can stop the start: a failed start must not make what is shown only once.
    const shown = await createFirstCredentials(stores);
    const { options } = node;
    const where = { data: options.dataDir, assets: options.assetsDir, store: stores.describe, node: render.nodeId };
    this.logger.info({ render: render.url, admin: adminUrl, ...where }, 'Pictor is ready');
    const started = { renderUrl: render.url, adminUrl, ...setup, firstApiKey: shown.apiKey, firstAdminPassword: shown.adminPassword };
    return { ...started, nodeId: render.nodeId, store: stores.describe, recoveredPurges: purging.recovered, video: video.video.describe };
  }

  /** Graceful stop: refuse new requests, finish in-flight requests and purges, close the store. */
  stop(): Promise<void> {
    return this.node.stop();
  }
}
