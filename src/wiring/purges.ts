import type { Caches } from './caches.ts';
import type { NodeContext } from './node.ts';
import type { Membership } from '../cluster/membership.ts';
import { EdgeHealer } from '../edges/edge-healer.ts';
import { EdgePhase } from '../edges/edge-phase.ts';
import { EdgePurger } from '../edges/edge-purger.ts';
import { EdgeService } from '../edges/edge-service.ts';
import type { KindContext } from '../edges/kinds.ts';
import { NginxPurger } from '../edges/nginx-purger.ts';
import { VendorDrivers } from '../edges/vendor-drivers.ts';
import { PurgeCoordinator } from '../purge/coordinator.ts';
import type { PurgeLedger } from '../purge/ledger.ts';
import { PurgeRetention } from '../purge/retention.ts';
import { PurgeSearchIndex } from '../purge/search-index.ts';
import { VerdictStep } from '../purge/verdict.ts';
import { routingHosts } from '../sources/domains.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import { storeFault } from '../store/store-errors.ts';
import type { Stores } from '../store/stores.ts';
import { purgeEvents } from '../webhooks/events.ts';

/** How often the purge history is compacted (see purge/retention.ts). */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** How often new purges are added to the Purges search index (see purge/search-index.ts). */
const SEARCH_INDEX_INTERVAL_MS = 1000;
/** How often expired nginx cache keys and old edge states are forgotten, and how many per statement. */
const EDGE_UPKEEP_INTERVAL_MS = 60_000;
const EDGE_UPKEEP_BATCH = 2000;
/** Per request to a CDN's API (edges/kinds.ts): a vendor that does not answer by then has failed that try. */
const VENDOR_TIMEOUT_MS = 10_000;
/** Waits between the tries of an origin verdict that fails (purge/verdict.ts). */
const VERDICT_RETRY_DELAYS_MS = [200, 1000, 3000];

export interface PurgeParts {
  stores: Stores;
  sources: SourceRegistry;
  ledger: PurgeLedger;
  caches: Caches;
  membership: Membership;
  /** This node's name, once its render listener is open. */
  nodeId: string;
}

export interface NodePurges {
  purges: PurgeCoordinator;
  edges: EdgeService;
  edgePhase: EdgePhase;
  retention: PurgeRetention;
  /** Purges acknowledged before a stop or a crash and completed now. */
  recovered: number;
}

/**
 * The purge pipeline of this node (purge/coordinator.ts): log, nodes, edges, completed. This node joins the
 * nodes applying the log first, then completes every purge left pending, then accepts purges.
 */
export async function startPurges(node: NodeContext, parts: PurgeParts): Promise<NodePurges> {
  const { ledger, caches, membership } = parts;
  const { edges, edgePhase } = startEdges(node, parts);
  // Stale entries are never served: freeing their space only gives it back. One node frees it when the purge
  // is complete (its verdict is in). In a cluster every node, this one included for its own purges, frees it
  // a moment after applying the log entry (PurgedSpace.followed), so that the deletions stay out of the
  // answers to the requests waiting for the completion.
  if (!ledger.shared) ledger.onCompleted((purge) => caches.purgedSpace.free(purge));
  ledger.onFollowed((entries) => caches.purgedSpace.followed(entries));
  if (ledger.shared) ledger.countMatches(parts.nodeId, (sourceId, path) => caches.purgedSpace.matched(sourceId, path));
  const purges = coordinator(node, parts, edgePhase);
  node.onStop('purges', () => purges.stop());
  node.onStop('purges', () => membership.stop());
  node.onStop('purges', () => ledger.stop());
  await membership.join(parts.nodeId);
  const recovered = await purges.start();
  if (recovered > 0) node.logger.info({ purges: recovered }, 'recovered acknowledged purges; their assets are already invalidated');
  node.metrics.probes.purgeQueueDepth = () => purges.depth;
  startEdgeUpkeep(node, parts.stores);
  return { purges, edges, edgePhase, retention: startPurgeUpkeep(node, ledger), recovered };
}

/** The edges registry, the last step of every purge (edges/edge-phase.ts), and edges healing (edges/edge-healer.ts). */
function startEdges(node: NodeContext, parts: PurgeParts): { edges: EdgeService; edgePhase: EdgePhase } {
  const { stores, sources } = parts;
  const { options, logger } = node;
  const context: KindContext = {
    varnish: new EdgePurger(),
    nginx: new NginxPurger(stores.edgeCacheKeys),
    vendors: new VendorDrivers({ outboundAllow: options.outboundAllow, timeoutMs: VENDOR_TIMEOUT_MS }),
  };
  const edges = new EdgeService(stores.edges, context);
  const edgePhase = new EdgePhase(edges, stores.edgePurges, context, {
    hostsOf: (sourceId) => {
      const source = sources.get(sourceId);
      return source ? routingHosts(source.record.deployment, options.baseDomain) : [];
    },
    retryWindowMs: options.edgeRetrySeconds * 1000,
    onError: (error) => logger.debug({ err: error }, 'an edge did not take a purge of edge keys'),
  });
  const healer = new EdgeHealer(edges, {
    intervalMs: options.edgeHealIntervalSeconds * 1000,
    onReadmitted: (edge) => logger.info({ edge: edge.name, was: edge.reason }, 'edge flushed and back in rotation'),
    onError: (error) => logger.debug({ err: error }, 'edges out of rotation could not be looked at; trying again later'),
  });
  healer.start();
  node.onStop('background', () => healer.stop());
  node.onStop('parts', () => edgePhase.stop());
  node.onStop('parts', () => context.varnish.close());
  node.onStop('parts', () => context.nginx.close());
  node.onStop('parts', () => context.vendors.close());
  return { edges, edgePhase };
}

function coordinator(node: NodeContext, parts: PurgeParts, edgePhase: EdgePhase): PurgeCoordinator {
  const { options, logger, metrics } = node;
  const { sources, caches } = parts;
  const verdict = new VerdictStep(async (record) => {
    const source = sources.get(record.sourceId);
    return source && caches.originCache.verdictAsker(source.record, source.origin, record.path);
  }, VERDICT_RETRY_DELAYS_MS);
  const phases = {
    matched: (sourceId: string, path: string) => caches.purgedSpace.matched(sourceId, path),
    tagged: (tag: string, sourceId: string | undefined, limit: number) => parts.stores.assets.tagged(tag, sourceId, limit),
    verdict,
    nodes: parts.membership.nodes,
    edges: edgePhase,
  };
  const lease = options.nodeLeaseSeconds * 1000;
  return new PurgeCoordinator(parts.ledger, sources, phases, {
    nodeId: () => parts.nodeId,
    // Longer than the longest a live coordinator takes (a lease, then the edges' tries): past it, another
    // node drives the purge.
    claimMs: lease + 3000,
    stopGraceMs: lease + 1500,
    maxTagAssets: options.purgeTagMaxAssets,
    outbox: purgeEvents,
    onCompleted: (record) => metrics.purgeCompletionSeconds.observe({ status: record.status }, ((record.completedAt ?? Date.now()) - record.createdAt) / 1000),
    // A store that cannot write is reported once, as the `store` health condition; other failures each time.
    onError: (error: unknown, record: PurgeRecord) => logger[storeFault(error) ? 'debug' : 'warn']({ err: error, purge: record.id }, 'purge could not be applied'),
  });
}

/**
 * Forgets nginx cache keys past their time (and those of removed edges), and each edge's state of purges older
 * than the purge retention, in the background.
 */
function startEdgeUpkeep(node: NodeContext, stores: Stores): void {
  const { logger, options } = node;
  const turn = (): Promise<unknown> => new Promise((resolve) => setImmediate(resolve));
  const upkeep = async (): Promise<void> => {
    while ((await stores.edgeCacheKeys.expire(Date.now(), EDGE_UPKEEP_BATCH)) === EDGE_UPKEEP_BATCH) await turn();
    const cutoff = Date.now() - options.purgeRetentionSeconds * 1000;
    while ((await stores.edgePurges.deleteBefore(cutoff, EDGE_UPKEEP_BATCH)) === EDGE_UPKEEP_BATCH) await turn();
  };
  const failed = (error: unknown): void => logger.debug({ err: error }, 'edge upkeep failed; trying again later');
  const timer = setInterval(() => void upkeep().catch(failed), EDGE_UPKEEP_INTERVAL_MS);
  timer.unref();
  node.onStop('background', () => clearInterval(timer));
}

/** Keeps the purge history bounded (purge/retention.ts) and its search index caught up, in the background. */
function startPurgeUpkeep(node: NodeContext, ledger: PurgeLedger): PurgeRetention {
  const { logger, options } = node;
  const retention = new PurgeRetention(ledger, {
    retentionMs: options.purgeRetentionSeconds * 1000,
    intervalMs: RETENTION_INTERVAL_MS,
    onCompacted: (result) => {
      if (result.purgesDeleted + result.marksDeleted > 0) logger.info(result, 'purge history compacted');
    },
    onError: (error) => logger.warn({ err: error }, 'purge history could not be compacted; trying again later'),
  });
  const searchIndex = new PurgeSearchIndex(ledger, {
    intervalMs: SEARCH_INDEX_INTERVAL_MS,
    onError: (error) => logger.debug({ err: error }, 'the Purges search index could not be updated; trying again later'),
  });
  retention.start();
  searchIndex.start();
  node.onStop('background', () => retention.stop());
  node.onStop('background', () => searchIndex.stop());
  return retention;
}
