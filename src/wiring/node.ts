import type { PictorOptions } from '../config/options.ts';
import type { SignInLimiter } from '../dashboard/sign-in-limiter.ts';
import type { Health } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RegistryOptions } from '../sources/registry.ts';
import type { SignInFailureStore } from '../store/sign-in-failures.ts';

export interface PictorHooks {
  originInterceptor?: RegistryOptions['originInterceptor'];
  /** Makes the dashboard's sign-in limiter on the store's counts (tests make one whose clock they move). */
  signInLimiter?: (failures: SignInFailureStore) => SignInLimiter;
}

/**
 * The order a node stops in: it refuses new requests first, then ends its background work, then finishes the
 * purges in flight, then closes what they used, the stores last.
 */
const STAGES = ['listeners', 'background', 'purges', 'parts', 'stores'] as const;
export type StopStage = (typeof STAGES)[number];

/** What every part of a node is started with; each part says here how it stops. */
export class NodeContext {
  private readonly stops = new Map<StopStage, (() => unknown)[]>(STAGES.map((stage) => [stage, []]));

  constructor(
    readonly options: PictorOptions,
    readonly hooks: PictorHooks,
    readonly logger: Logger,
    readonly metrics: Metrics,
    readonly health: Health,
  ) {}

  /** Runs `stop` when the node stops, in its stage, after what was added to that stage before it. */
  onStop(stage: StopStage, stop: () => unknown): void {
    this.stops.get(stage)!.push(stop);
  }

  /** Stops every part, stage by stage; the listeners close together, the rest one after another. */
  async stop(): Promise<void> {
    for (const stage of STAGES) {
      const stops = this.stops.get(stage)!.splice(0);
      if (stage === 'listeners') await Promise.all(stops.map((stop) => stop()));
      else for (const stop of stops) await stop();
    }
  }
}
