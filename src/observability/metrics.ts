import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
