import { randomUUID } from 'node:crypto';
import type { EdgesPhase, EdgeStep } from '../purge/coordinator.ts';
import type { EdgePurgeState, EdgePurgeStore, EdgePurgeUpdate } from '../store/edge-purge-store.ts';
import type { EdgeRecord } from '../store/edge-store.ts';
import type { LoggedPurge } from '../store/purge-log.ts';
import type { EdgeOrder, EdgeOutcome } from './edge-driver.ts';
import { edgeOrder } from './edge-order.ts';
import { edgeKind, type KindContext } from './kinds.ts';

/** The edges registry, as the edge phase needs it (edge-service.ts). */
export interface EdgeDirectory {
  list(): Promise<EdgeRecord[]>;
  /** Takes an edge out of rotation; it comes back only after a full flush (edge-healer.ts, `pictor edges readmit`). */
  takeOut(name: string, reason: string): Promise<unknown>;
}

export interface EdgePhaseOptions {
  /** Each host a Source is served on (for edges that purge by URL). */
  hostsOf: (sourceId: string) => string[];
  /** How long a failing CDN is tried again before its part of a purge is `failed`. */
  retryWindowMs: number;
  onError?: (error: unknown) => void;
}

/** How long after a purge its keys are sent to the edges in front of Pictor a second time. */
const SECOND_PURGE_MS = 1000;
/** How long one node holds an edge's try: longer than any driver's request takes, so no one else tries meanwhile. */
const HOLD_MS = 30_000;
/** First wait before a CDN is tried (or polled) again; it doubles up to BACKOFF_MAX_MS. */
const BACKOFF_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** The shortest wait before a purge with pending edges is looked at again. */
const WAKE_MIN_MS = 250;

/**
 * The last step of a purge (purge/coordinator.ts): every edge drops what the purge made stale, each through
 * its kind's driver (kinds.ts), each edge's state stored (store/edge-purge-store.ts) so that a purge re-driven
 * after a crash or by another node goes on where it was.
 *
 * - An edge in front of Pictor (Varnish, nginx) confirms at once or is taken out of rotation: it may still
 *   hold the old bytes, so whatever routes clients must stop sending them there until it is flushed.
 * - A CDN purged through its API that fails transiently is tried again with backoff (sooner never than the
 *   vendor asks); one that answers `pending` is polled by the id it gave; a refusal is final. Past the retry
 *   window its part is `failed` with the last error. One edge's trouble never holds up another's purge.
 *
 * Race-freedom: a try is made only by the node that took the edge's state (`take`, a conditional update, or
 * `begin`, which adds it taken), so a vendor is asked once per try however many nodes drive the purge; the order's id (`<purge>:<edge>`) is the
 * vendor's idempotency key, so a try repeated after a crash does not start a second purge there.
 *
 * A response already on its way from a node when the purge was applied (built before it, sent after the
 * node's check) could still land in an edge in front of Pictor just after its purge; a second purge a moment
 * later removes it. It does not hold the purge's completion back, and its failure is only logged.
 */
export class EdgePhase implements EdgesPhase {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly directory: EdgeDirectory,
    private readonly states: EdgePurgeStore,
    private readonly context: KindContext,
    private readonly options: EdgePhaseOptions,
  ) {}

  async propagate(purge: LoggedPurge): Promise<EdgeStep> {
    const edges = new Map((await this.directory.list()).map((edge) => [edge.name, edge]));
    // Drivers of edges removed meanwhile, here or on another node, are closed.
    await this.context.vendors.retain(edges.keys());
    const { states: begun, taken } = await this.states.begin(purge.id, [...edges.values()].map(initialState), Date.now(), HOLD_MS);
    const pending = begun.filter((state) => state.state === 'pending');
    // Only pending states change: with none, the states just read are the answer (no edge, or a purge re-driven).
    if (pending.length === 0) return summary(begun);
    const tried = await Promise.all(pending.map((state) => this.advance(purge, state, edges.get(state.edge), taken.has(state.edge))));
    const again = tried.flatMap((step) => (step?.edge && step.update.state === 'purged' && edgeKind(step.edge.kind)?.addressed ? [step.edge] : []));
    if (again.length > 0) this.again(purge, again);
    // Every pending state was this node's to try, and recorded as tried: the states are known without reading them again.
    if (tried.every((step) => step?.recorded)) return summary(begun.map((state) => settledState(state, tried.find((step) => step?.update.edge === state.edge))));
    return summary(await this.states.list(purge.id));
  }

  /** Each edge's state of a purge (the status document). */
  statesOf(purgeId: string): Promise<EdgePurgeState[]> {
    return this.states.list(purgeId);
  }

  /** A takedown's content keys (edge-keys.ts), sent once to every edge: its own URL's purge is the durable part. */
  async purgeKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const order: EdgeOrder = { id: randomUUID(), keys: [...keys], urls: [] };
    await Promise.all(
      (await this.directory.list())
        .filter((edge) => edge.inRotation)
        .map(async (edge) => {
          const outcome = await this.tryDriver(edge, order, null);
          if (outcome.state === 'purged' || outcome.state === 'pending') return;
          if (edgeKind(edge.kind)?.addressed) await this.directory.takeOut(edge.name, outcome.error);
          else this.options.onError?.(new Error(`edge ${edge.name} did not purge the content keys: ${outcome.error}`));
        }),
    );
  }

  /** Cancels the pending second purges (at stop). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * One try at one edge, when due and not held by another node (`taken`: this node holds it already); what
   * it recorded, or undefined when it was not this node's to try.
   */
  private async advance(purge: LoggedPurge, pending: EdgePurgeState, edge: EdgeRecord | undefined, taken: boolean): Promise<Try | undefined> {
    const now = Date.now();
    const state = taken ? pending : await this.states.take(purge.id, pending.edge, now, HOLD_MS);
    if (state === undefined) return undefined;
    const base = { purgeId: purge.id, edge: state.edge, vendorId: state.vendorId, attempts: state.attempts + 1, nextAttemptAt: now, lastError: null };
    if (edge === undefined) {
      const update: EdgePurgeUpdate = { ...base, state: 'out_of_rotation', lastError: 'removed from the registry before it purged' };
      const at = Date.now();
      return { update, at, recorded: await this.states.settle(update, at) };
    }
    const outcome = await this.tryDriver(edge, edgeOrder(purge, edge.name, this.options.hostsOf), state.vendorId);
    const update = await this.next(edge, state, outcome, base);
    const at = Date.now();
    return { update, at, edge, recorded: await this.states.settle(update, at) };
  }

  /** The state an outcome leads to: backoff for a retry or a purge in progress, out of rotation or failed for a refusal. */
  private async next(edge: EdgeRecord, state: EdgePurgeState, outcome: EdgeOutcome, base: Omit<EdgePurgeUpdate, 'state'>): Promise<EdgePurgeUpdate> {
    if (outcome.state === 'purged') return { ...base, state: 'purged' };
    if (outcome.state === 'failed') {
      if (!edgeKind(edge.kind)?.addressed) return { ...base, state: 'failed', lastError: outcome.error };
      await this.directory.takeOut(edge.name, outcome.error);
      return { ...base, state: 'out_of_rotation', lastError: outcome.error };
    }
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** state.attempts);
    const wait = outcome.state === 'retry' ? Math.max(backoff, outcome.afterMs ?? 0) : backoff;
    const vendorId = outcome.state === 'pending' ? outcome.vendorId : state.vendorId;
    const lastError = outcome.state === 'retry' ? outcome.error : null;
    const nextAttemptAt = Date.now() + wait;
    if (nextAttemptAt > state.createdAt + this.options.retryWindowMs) {
      const why = lastError ?? `the purge ${vendorId ?? ''} had not completed`;
      return { ...base, vendorId, state: 'failed', lastError: `gave up after ${base.attempts} tries: ${why}` };
    }
    return { ...base, state: 'pending', vendorId, nextAttemptAt, lastError };
  }

  /** The driver's answer; a driver that throws has failed this try only. */
  private async tryDriver(edge: EdgeRecord, order: EdgeOrder, vendorId: string | null): Promise<EdgeOutcome> {
    const kind = edgeKind(edge.kind);
    if (kind === undefined) return { state: 'failed', error: `this version of Pictor does not know the edge kind "${edge.kind}"` };
    try {
      const driver = kind.driver(edge, this.context);
      return vendorId !== null && driver.poll ? await driver.poll(vendorId) : await driver.purge(order);
    } catch (error) {
      return { state: 'retry', error: (error as Error).message ?? String(error) };
    }
  }

  private again(purge: LoggedPurge, edges: readonly EdgeRecord[]): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const edge of edges) {
        this.tryDriver(edge, edgeOrder(purge, edge.name, this.options.hostsOf), null)
          .then((outcome) => outcome.state === 'failed' && this.options.onError?.(new Error(`second purge of ${edge.name}: ${outcome.error}`)))
          .catch(this.options.onError);
      }
    }, SECOND_PURGE_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

/** A try at one edge: the outcome recorded (or not: the state was final already) at `at`. */
interface Try {
  update: EdgePurgeUpdate;
  at: number;
  edge?: EdgeRecord;
  recorded: boolean;
}

/** A state after the try recorded on it, as the store now has it (`settle`). */
function settledState(state: EdgePurgeState, step: Try | undefined): EdgePurgeState {
  if (step === undefined) return state;
  const { update, at } = step;
  return { ...state, state: update.state, vendorId: update.vendorId, attempts: update.attempts, nextAttemptAt: update.nextAttemptAt, lastError: update.lastError, updatedAt: at };
}

function initialState(edge: EdgeRecord): { edge: string; kind: string; state: 'pending' | 'out_of_rotation'; lastError?: string } {
  if (edge.inRotation) return { edge: edge.name, kind: edge.kind, state: 'pending' };
  return { edge: edge.name, kind: edge.kind, state: 'out_of_rotation', lastError: edge.reason ?? 'out of rotation' };
}

/** Settled once no edge is pending; the report every version gave (`purged`, `out_of_rotation`) beside each edge's state. */
function summary(states: EdgePurgeState[]): EdgeStep {
  const pending = states.filter((state) => state.state === 'pending');
  const named = (name: EdgePurgeState['state']): string[] => states.filter((state) => state.state === name).map((state) => state.edge);
  return {
    settled: pending.length === 0,
    failed: states.some((state) => state.state === 'failed'),
    // Not sooner than WAKE_MIN_MS: a state another node holds is due already, and is settled by that node.
    wakeAt: Math.max(Date.now() + WAKE_MIN_MS, Math.min(...pending.map((state) => state.nextAttemptAt), Date.now() + HOLD_MS)),
    report: { purged: named('purged'), out_of_rotation: named('out_of_rotation') },
    states,
  };
}
