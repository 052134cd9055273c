import type { SourceRegistry } from '../sources/registry.ts';
import type { EdgePurgeState } from '../store/edge-purge-store.ts';
import type { LoggedPurge, PurgeListQuery, PurgeRecord, PurgeReport } from '../store/purge-log.ts';
import type { Outbox } from '../store/webhook-store.ts';
import type { PurgeLedger } from './ledger.ts';
import { Pauses } from './pauses.ts';
import { Slots } from './slots.ts';
import { assetPurgeRecord, purgeRecord, scopeOf, sourcePurgeRecord } from './purge-request.ts';
import type { AcceptedPurge, PurgeRequest, Purges, TagPurgeRequest } from './purges.ts';
import { edgeScopes, tagPurge, type TaggedAssets } from './tag-purge.ts';
import type { Verdict, VerdictStep } from './verdict.ts';

/** How often every node looks for purges whose coordinator did not complete them. */
const SWEEP_MS = 1000;
/** Purges claimed per read of the log while sweeping. */
const SWEEP_BATCH = 100;
/** First wait before a purge's next try after a failed step (the store, the nodes); it doubles up to RETRY_MAX_MS. */
const RETRY_MS = 500;
const RETRY_MAX_MS = 8000;
/**
 * Edge steps run at once by this node; the others wait their turn. Each step reads and writes its edges'
 * states in the store and sends each edge a request: a burst of thousands of accepted purges would otherwise
 * queue all of those at once, and the API's own reads (a purge's status) would wait behind them for a store
 * connection. The waits between an edge's tries hold no slot.
 */
const EDGE_STEPS_AT_ONCE = 32;

/** The nodes step: every node applying the log has applied the purge, or been fenced (cluster/node-progress.ts). */
export interface NodesPhase {
  /** Resolves once every node has applied `seq` or been fenced, naming which did which. */
  applied(seq: number): Promise<PurgeReport['nodes']>;
}

/** Where the edges step stands after a try at every edge that was due. */
export interface EdgeStep {
  /** No edge is pending: each purged, failed or is out of rotation. */
  settled: boolean;
  /** An edge ended `failed`. */
  failed: boolean;
  /** While not settled: when an edge is due again. */
  wakeAt: number;
  report: PurgeReport['edges'];
  states: EdgePurgeState[];
}

/**
 * The edges step: every edge has dropped the purged scopes, was taken out of rotation, or failed for good
 * (edges/edge-phase.ts). Idempotent: each edge's state is stored, and a try repeats only what is still pending.
 */
export interface EdgesPhase {
  propagate(purge: LoggedPurge): Promise<EdgeStep>;
  statesOf(purgeId: string): Promise<EdgePurgeState[]>;
}

export interface CoordinatorPhases {
  /** Cached entries of an asset now (an exact purge's `matched`; cache/purged-space.ts). */
  matched: (sourceId: string, path: string) => number;
  /** The assets carrying a tag (a tag purge's, tag-purge.ts). */
  tagged: TaggedAssets;
  verdict: VerdictStep;
  nodes: NodesPhase;
  edges: EdgesPhase;
}

export interface CoordinatorOptions {
  /** This node's name, known once it has joined. */
  nodeId: () => string;
  /** How long a coordinator's claim on a purge lasts: past it, any node drives the purge. */
  claimMs: number;
  /** How long a stop lets the purges being driven finish (a node may hold one back until its lease ends). */
  stopGraceMs: number;
  /** Most assets one tag purge may match (`--purge-tag-max-assets`). */
  maxTagAssets: number;
  onCompleted?: (record: PurgeRecord) => void;
  /** The events a purge's end reports (completed or failed), written with its completion (store/webhook-store.ts). */
  outbox?: Outbox<PurgeRecord>;
  onError?: (error: unknown, record: PurgeRecord) => void;
}

/**
 * Purges, from request to `completed`, the same on one node and in a cluster:
 *
 * 1. **accept**: the URL resolved to a Source and a canonical path; a repeat of a purge not yet in effect
 *    joins it (the same id);
 * 2. **log**: appended to the purge log and applied on this node (PurgeLedger) — durable and in effect
 *    before the API answers 200;
 * 3. **nodes**: every node applying the log has applied it, or was fenced once its lease ran out;
 * 4. **edges**: every edge has purged it, was taken out of rotation, or failed for good — after the nodes,
 *    so an edge refetching at once cannot get the old bytes from a node; a CDN tried again later keeps the
 *    purge pending meanwhile (edges/edge-phase.ts);
 * 5. **completed**, with the origin's verdict, asked meanwhile (verdict.ts; informational); or **failed** when
 *    an edge failed: Pictor's own tiers are purged then, and the status document says which edge failed and why.
 *
 * Each step after the log is idempotent: a purge whose coordinator stopped or died is driven again, from
 * the nodes step, by whichever node claims it (`sweep`), this one after a restart included.
 */
export class PurgeCoordinator implements Purges {
  /** Purges of the same thing being logged now, which a repeat joins. */
  private readonly logging = new Map<string, Promise<LoggedPurge>>();
  private readonly driving = new Set<string>();
  private readonly pauses = new Pauses();
  private readonly edgeSteps = new Slots(EDGE_STEPS_AT_ONCE);
  private idleWaiters: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  /** Stopping: no more waits between tries. Stopped: nothing more is written. */
  private stopping = false;
  private stopped = false;

  constructor(
    private readonly ledger: PurgeLedger,
    private readonly sources: SourceRegistry,
    private readonly phases: CoordinatorPhases,
    private readonly options: CoordinatorOptions,
  ) {}

  purge(request: PurgeRequest): Promise<AcceptedPurge> {
    return this.accept(purgeRecord(this.sources, request));
  }

  purgeAsset(sourceId: string, path: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(assetPurgeRecord(this.sources, sourceId, path, requestedBy));
  }

  /** One purge of every asset carrying the tag now; `matched` counts their entries cached on this node. */
  async purgeTag(request: TagPurgeRequest): Promise<AcceptedPurge> {
    const { record, assets, scopes } = await tagPurge(this.sources, this.phases.tagged, request, this.options.maxTagAssets);
    record.matched = assets.reduce((sum, asset) => sum + this.phases.matched(asset.sourceId, asset.originPath), 0);
    return this.accept(record, scopes);
  }

  purgeSource(sourceId: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(sourcePurgeRecord(this.sources, sourceId, requestedBy));
  }

  get(id: string): Promise<PurgeRecord | undefined> {
    return this.ledger.get(id);
  }

  settled(id: string, ms: number): Promise<PurgeRecord | undefined> {
    return this.ledger.settled(id, ms);
  }

  endWaits(): void {
    this.ledger.endWaits();
  }

  edgeStates(id: string): Promise<EdgePurgeState[]> {
    return this.phases.edges.statesOf(id);
  }

  list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    return this.ledger.list(query);
  }

  /** Purges this node accepted or claimed, not completed yet. */
  get depth(): number {
    return this.driving.size;
  }

  /**
   * Drives every pending purge no coordinator holds (after a stop or a crash: they are in effect already,
   * from the log's marks), then looks for more every SWEEP_MS. Resolves with how many it found at once.
   */
  async start(): Promise<number> {
    const found = await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    return found;
  }

  /**
   * Stops sweeping and gives the purges being driven `stopGraceMs` to complete (a purge waiting for a node
   * waits until its lease could run out); what is not completed by then stays pending in the log, and is
   * completed after the next start, or by another node.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    this.phases.verdict.stop();
    this.pauses.wakeAll();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.stopGraceMs)));
    await Promise.race([this.idle(), grace]);
    clearTimeout(timer);
    this.stopped = true;
  }

  private async accept(record: PurgeRecord, scopes = [scopeOf(record)]): Promise<AcceptedPurge> {
    const key = dedupeKey(record);
    const joined = this.logging.get(key);
    if (joined) return { record: await joined, coalesced: true };
    if (record.match === 'exact') record.matched = this.phases.matched(record.sourceId, record.path);
    const logging = this.ledger.append(record, scopes, { coordinator: this.options.nodeId(), claimMs: this.options.claimMs });
    this.logging.set(key, logging);
    try {
      const logged = await logging;
      this.drive(logged);
      return { record: logged, coalesced: false };
    } finally {
      this.logging.delete(key);
    }
  }

  /**
   * Drives a logged purge to completion in the background (as accepting and sweeping do); never rejects: a
   * failed step is tried again until it completes or the coordinator stops.
   */
  drive(purge: LoggedPurge): void {
    if (this.driving.has(purge.id) || this.stopping) return;
    this.driving.add(purge.id);
    void this.run(purge).finally(() => {
      this.driving.delete(purge.id);
      if (this.driving.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private async run(purge: LoggedPurge): Promise<void> {
    const verdict = this.phases.verdict.verdict(purge);
    for (let attempt = 0; ; attempt++) {
      try {
        const nodes = await this.phases.nodes.applied(purge.seq);
        const edges = await this.settleEdges(purge);
        if (edges === undefined) return; // stopping: pending in the log, driven again after a restart or by another node
        const completed = completedRecord(purge, await verdict, { nodes, edges: edges.report }, edges);
        if (this.stopped) return;
        await this.ledger.complete(completed, this.options.outbox);
        this.options.onCompleted?.(completed);
        return;
      } catch (error) {
        this.options.onError?.(error, purge);
        if (this.stopping) return; // pending in the log: completed after a restart, or by another node
        await this.pauses.wait(Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** attempt));
      }
    }
  }

  /** Tries the edges until none is pending, waiting between tries as they ask; undefined once stopping. */
  private async settleEdges(purge: LoggedPurge): Promise<EdgeStep | undefined> {
    // A tag purge's own scope marks no response: the edges get its assets' scopes only.
    const forEdges = { ...purge, scopes: [...edgeScopes(purge.scopes)] };
    for (;;) {
      const step = await this.edgeSteps.run(() => this.phases.edges.propagate(forEdges));
      if (step.settled) return step;
      if (this.stopping) return undefined;
      await this.pauses.wait(Math.max(0, step.wakeAt - Date.now()));
      if (this.stopping) return undefined;
    }
  }

  /** Claims and drives every purge whose coordinator has not completed it within its claim; how many. */
  private async sweep(): Promise<number> {
    let found = 0;
    try {
      for (let claimed = SWEEP_BATCH; claimed === SWEEP_BATCH && !this.stopping; found += claimed) {
        const stale = await this.ledger.claimStale({ coordinator: this.options.nodeId(), claimMs: this.options.claimMs }, SWEEP_BATCH);
        for (const purge of stale) this.drive(purge);
        claimed = stale.length;
      }
    } catch {
      // the store cannot be read: the next sweep tries again
    }
    return found;
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => (this.driving.size === 0 ? resolve() : this.idleWaiters.push(resolve)));
  }
}

function completedRecord(purge: LoggedPurge, verdict: Verdict, report: PurgeReport, edges: EdgeStep): LoggedPurge {
  const failed = edges.states.filter((state) => state.state === 'failed');
  const reasons = failed.map((state) => `edge ${state.edge} (${state.kind}) failed: ${state.lastError ?? 'no reason given'}`);
  const error = failed.length === 0 ? undefined : `Pictor's nodes and caches are purged; ${reasons.join('; ')}`;
  const status = failed.length === 0 ? 'completed' : 'failed';
  return { ...purge, status, error, origin: verdict.origin, originError: verdict.originError, report, completedAt: Date.now() };
}

function dedupeKey(record: PurgeRecord): string {
  return [record.match, record.sourceId, record.path, record.subImage ? 1 : 0, record.parentSourceId ?? '', record.tag ?? ''].join('\n');
}
