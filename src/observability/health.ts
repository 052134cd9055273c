import type { Logger } from './logger.ts';

export interface HealthProblem {
  condition: string;
  problem: string;
  /** When the condition started failing (epoch milliseconds). */
  since: number;
}

/** What `/healthz` answers on both listeners (with `since` as an ISO date). */
export type HealthDocument = { status: 'ok' } | { status: 'degraded'; problems: { condition: string; problem: string; since: string }[] };

/**
 * The conditions a node can be degraded by while it keeps serving (the disk cache cannot be written, the
 * store cannot write, …), each reported by the part that owns it. A degraded node still answers renders,
 * so `/healthz` stays 200 and says what is wrong: a load balancer must not take it out of service.
 */
export class Health {
  private readonly failing = new Map<string, { problem: string; since: number }>();
  /** Every condition ever reported, failing or not, so /metrics shows a 0 before the first problem. */
  private readonly known = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /**
   * `problem` undefined = the condition is fine again. Logs once when a condition starts failing (warn, with
   * the reason) and once when it recovers (info); repeated reports are silent (a changed reason is kept).
   */
  report(condition: string, problem: string | undefined): void {
    this.known.add(condition);
    const current = this.failing.get(condition);
    if (problem === undefined) {
      if (!current) return;
      this.failing.delete(condition);
      this.logger.info({ condition, since: new Date(current.since).toISOString() }, `${condition} is working again`);
    } else if (current) {
      current.problem = problem;
    } else {
      this.failing.set(condition, { problem, since: Date.now() });
      this.logger.warn({ condition, problem }, `degraded: ${problem}`);
    }
  }

  /** Conditions failing now, with their problem and since when. */
  problems(): HealthProblem[] {
    return [...this.failing].map(([condition, { problem, since }]) => ({ condition, problem, since }));
  }

  /** True while nothing is failing: the common case, answered without building a document. */
  get ok(): boolean {
    return this.failing.size === 0;
  }

  /** Every condition reported so far and whether it is failing now (for the `pictor_degraded` gauge). */
  conditions(): { condition: string; failing: boolean }[] {
    return [...this.known].map((condition) => ({ condition, failing: this.failing.has(condition) }));
  }

  document(): HealthDocument {
    if (this.ok) return { status: 'ok' };
    return {
      status: 'degraded',
      problems: this.problems().map(({ condition, problem, since }) => ({ condition, problem, since: new Date(since).toISOString() })),
    };
  }
}
