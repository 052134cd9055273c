import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterStatus, EdgeStatus } from '../cluster/cluster-status.ts';

const CACHE_RESULTS = ['hit', 'miss', 'none'] as const;

/** Prometheus metrics, one registry per Pictor instance (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry();
  /** Read when /metrics is scraped; the app points them at the live queues and the health registry. */
  const probes = {
    purgeQueueDepth: () => 0,
    renderQueueDepth: () => 0,
    renderMemoryBytes: () => 0,
    healthConditions: (): { condition: string; failing: boolean }[] => [],
    /** The cluster as the store says (cluster/cluster-status.ts); undefined until the node's stores are open. */
    clusterStatus: (): Promise<ClusterStatus | undefined> => Promise.resolve(undefined),
  };
  collectDefaultMetrics({ register: registry, prefix: 'pictor_' });
  // Requests are tallied in plain numbers and handed to prom-client when /metrics is read: a labelled
  // inc() hashes its label set on every call, which is measurable on the cache-hit path.
  const requestTallies = new Map<number, { labels: { listener: string; status: string; cache: string }; count: number }>();
  new Counter({
    name: 'pictor_http_requests_total',
    help: 'Requests answered, by listener, status code and cache result (hit, miss, none).',
    labelNames: ['listener', 'status', 'cache'] as const,
    registers: [registry],
    collect() {
      for (const tally of requestTallies.values()) {
        if (tally.count === 0) continue;
        this.inc(tally.labels, tally.count);
        tally.count = 0;
      }
    },
  });
  clusterGauges(registry, () => probes.clusterStatus());
  return {
    registry,
    probes,
    countRequest(listener: 'render' | 'admin', status: number, cache: 'hit' | 'miss' | 'none'): void {
      const key = (listener === 'admin' ? 4000 : 0) + status * 4 + CACHE_RESULTS.indexOf(cache); // a number: no string built per request
      const tally = requestTallies.get(key);
      if (tally) tally.count++;
      else requestTallies.set(key, { labels: { listener, status: String(status), cache }, count: 1 });
    },
    renderSeconds: new Histogram({
      name: 'pictor_render_duration_seconds',
      help: 'Time to render one derivative, by output format.',
      labelNames: ['format'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    originFetchSeconds: new Histogram({
      name: 'pictor_origin_fetch_duration_seconds',
      help: 'Time to fetch or revalidate one asset at its Source, by outcome (found, not-modified, missing, error).',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    purgeQueueDepth: new Gauge({
      name: 'pictor_purge_queue_depth',
      help: 'Purges acknowledged and not yet completed.',
      registers: [registry],
      collect() {
        this.set(probes.purgeQueueDepth());
      },
    }),
    purgeCompletionSeconds: new Histogram({
      name: 'pictor_purge_completion_seconds',
      help: 'Time from a purge being acknowledged to being completed, by status.',
      labelNames: ['status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    purgesTotal: new Counter({
      name: 'pictor_purges_total',
      help: 'Purges accepted, and of those how many were repeats coalesced into a queued purge.',
      labelNames: ['coalesced'] as const,
      registers: [registry],
    }),
    renderMemoryBytes: new Gauge({
      name: 'pictor_render_memory_bytes',
      help: 'Memory held by running renders, as estimated when they were admitted (bounded by --render-memory).',
      registers: [registry],
      collect() {
        this.set(probes.renderMemoryBytes());
      },
    }),
    renderQueueDepth: new Gauge({
      name: 'pictor_render_queue_depth',
      help: 'Renders waiting for a slot.',
      registers: [registry],
      collect() {
        this.set(probes.renderQueueDepth());
      },
    }),
    degraded: new Gauge({
      name: 'pictor_degraded',
      help: 'Whether the node is degraded by a condition (1) or not (0), e.g. disk-cache; /healthz says why.',
      labelNames: ['condition'] as const,
      registers: [registry],
      collect() {
        for (const { condition, failing } of probes.healthConditions()) this.set({ condition }, failing ? 1 : 0);
      },
    }),
    cacheWriteErrors: new Counter({
      name: 'pictor_cache_write_errors_total',
      help: 'Changes to the disk cache (write, rename, mkdir, unlink) that failed, by error code (ENOSPC, EROFS, EACCES, EIO, …).',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * `pictor_node_lag`, `pictor_edge_state` (and each edge's times) and `pictor_purges_pending`, from one read of the store per scrape
 * (bounded: see readClusterStatus). Every node of a cluster exports the same values, so alerts may use any
 * node's, or max() over them. Nodes and edges that are gone drop out: the gauges are reset before each read.
 */
function clusterGauges(registry: Registry, read: () => Promise<ClusterStatus | undefined>): void {
  // One read serves the gauges of a scrape (prom-client collects them together). A store that cannot be
  // read leaves them out of this scrape rather than failing every other metric or exporting a false 0.
  let pending: Promise<ClusterStatus | undefined> | undefined;
  const status = (): Promise<ClusterStatus | undefined> => {
    pending ??= read()
      .catch(() => undefined)
      .finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  new Gauge({
    name: 'pictor_node_lag',
    help: 'Purges logged that the node has not applied yet (the log head minus its last applied purge).',
    labelNames: ['node'] as const,
    registers: [registry],
    async collect() {
      const read = await status();
      this.reset();
      for (const node of read?.nodes ?? []) this.set({ node: node.id }, node.lag);
    },
  });
  new Gauge({
    name: 'pictor_edge_state',
    help: 'Each edge\'s rotation: 1 for its current state (in_rotation or out_of_rotation), 0 for the other.',
    labelNames: ['edge', 'state'] as const,
    registers: [registry],
    async collect() {
      const read = await status();
      this.reset();
      for (const edge of read?.edges ?? []) {
        this.set({ edge: edge.name, state: 'in_rotation' }, edge.in_rotation ? 1 : 0);
        this.set({ edge: edge.name, state: 'out_of_rotation' }, edge.in_rotation ? 0 : 1);
      }
    },
  });
  // Times of each edge, as Unix seconds; an edge without one (never re-admitted, no purge kept) is left out.
  const edgeTimes = (name: string, help: string, at: (edge: EdgeStatus) => string | null, by = false): void => {
    new Gauge({
      name,
      help,
      labelNames: by ? ['edge', 'by'] : ['edge'],
      registers: [registry],
      async collect() {
        const read = await status();
        this.reset();
        for (const edge of read?.edges ?? []) {
          const when = at(edge);
          const labels = by ? { edge: edge.name, by: edge.readmitted_by ?? 'operator' } : { edge: edge.name };
          if (when !== null) this.set(labels, Date.parse(when) / 1000);
        }
      },
    });
  };
  edgeTimes('pictor_edge_changed_timestamp_seconds', 'When each edge last went in or out of rotation (Unix seconds).', (edge) => edge.since);
  const readmitted = 'When each edge was last put back in rotation after a flush (Unix seconds), by automatic (it healed) or operator (readmit).';
  edgeTimes('pictor_edge_readmitted_timestamp_seconds', readmitted, (edge) => edge.readmitted_at, true);
  edgeTimes('pictor_edge_last_purge_timestamp_seconds', 'When each edge last confirmed a purge (Unix seconds).', (edge) => edge.last_purge_at);
  new Gauge({
    name: 'pictor_purges_pending',
    help: 'Purges in the log not completed yet, across the cluster (counted up to 10,000).',
    registers: [registry],
    async collect() {
      const read = await status();
      this.reset();
      if (read) this.set(read.purge_log.pending);
    },
  });
}
