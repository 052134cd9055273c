import { BackgroundJob } from '../purge/background-job.ts';
import type { EdgeRecord } from '../store/edge-store.ts';
import type { EdgeService } from './edge-service.ts';
import { edgeKind } from './kinds.ts';

/** The longest wait between two flushes of an edge that keeps failing them. */
const BACKOFF_MAX_MS = 60_000;

export interface EdgeHealerOptions {
  /** How often the edges out of rotation are looked at, and the first wait after a failed flush; 0: never. */
  intervalMs: number;
  onReadmitted?: (edge: EdgeRecord) => void;
  onError?: (error: unknown) => void;
}

/** When an edge whose flush failed is tried again, for the take-out it was read with (`changedAt`). */
interface Backoff {
  changedAt: number;
  waitMs: number;
  nextAt: number;
}

/**
 * Brings edges in front of Pictor (Varnish, nginx) back into rotation by themselves: every interval, each one
 * out of rotation is flushed whole and, once the flush succeeded, re-admitted (EdgeService.flushAndReadmit,
 * which keeps the security invariant written there). A flush that fails leaves the edge out with that error,
 * and that edge waits twice as long each time, up to BACKOFF_MAX_MS, so a dead edge is not hammered.
 *
 * Every node of a cluster runs one: two nodes may flush the same edge, which is harmless, and only one
 * re-admission is written, the one that still finds the edge as it was read (`readmitIfUnchanged`).
 */
export class EdgeHealer {
  private readonly job: BackgroundJob<void>;
  private readonly backoff = new Map<string, Backoff>();

  constructor(
    private readonly edges: Pick<EdgeService, 'list' | 'flushAndReadmit' | 'noteFlushFailure'>,
    private readonly options: EdgeHealerOptions,
  ) {
    this.job = new BackgroundJob(() => this.pass(), { intervalMs: options.intervalMs, onError: options.onError });
  }

  start(): void {
    if (this.options.intervalMs > 0) this.job.start(false);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One look at every edge out of rotation: each one due is flushed, and re-admitted once it was. */
  async pass(): Promise<void> {
    const started = Date.now();
    const out = (await this.edges.list()).filter((edge) => !edge.inRotation && edge.url !== null && edgeKind(edge.kind)?.addressed === true);
    const names = new Set(out.map((edge) => edge.name));
    for (const name of this.backoff.keys()) if (!names.has(name)) this.backoff.delete(name);
    await Promise.all(out.filter((edge) => this.due(edge, started)).map((edge) => this.heal(edge, started)));
  }

  /** Due unless a flush failed since its take-out and its wait is not over; a new take-out starts afresh. */
  private due(edge: EdgeRecord, now: number): boolean {
    const backoff = this.backoff.get(edge.name);
    return backoff === undefined || backoff.changedAt !== edge.changedAt || backoff.nextAt <= now;
  }

  private async heal(edge: EdgeRecord, started: number): Promise<void> {
    try {
      const readmitted = await this.edges.flushAndReadmit(edge, 'automatic');
      this.backoff.delete(edge.name);
      if (readmitted) this.options.onReadmitted?.(edge);
    } catch (error) {
      const before = this.backoff.get(edge.name);
      const again = before !== undefined && before.changedAt === edge.changedAt;
      const waitMs = again ? Math.min(BACKOFF_MAX_MS, before.waitMs * 2) : this.options.intervalMs;
      this.backoff.set(edge.name, { changedAt: edge.changedAt, waitMs, nextAt: started + waitMs });
      const message = (error as Error).message ?? String(error);
      await this.edges.noteFlushFailure(edge, message).catch(this.options.onError);
    }
  }
}
