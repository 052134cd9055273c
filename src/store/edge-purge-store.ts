/**
 * Each purge's part at each edge, durable (edges/edge-phase.ts drives it): whether the edge has purged, is
 * still being asked (with the vendor's id of a purge in progress, how often it was tried and when it is tried
 * next), failed for good, or was out of rotation. A purge re-driven after a crash, or by another node of a
 * cluster, finds here what was done already: an edge that purged is not asked again, a vendor purge in
 * progress is polled by its stored id rather than started a second time.
 */
export type EdgePurgeStateName = 'pending' | 'purged' | 'failed' | 'out_of_rotation';

export interface EdgePurgeState {
  purgeId: string;
  edge: string;
  kind: string;
  state: EdgePurgeStateName;
  /** The vendor's id of the purge it is doing (a CloudFront invalidation), once it answered `pending`. */
  vendorId: string | null;
  attempts: number;
  /** When it may be tried (or polled) next, milliseconds since the epoch. */
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The outcome of a try, as `settle` records it. */
export interface EdgePurgeUpdate {
  purgeId: string;
  edge: string;
  state: EdgePurgeStateName;
  vendorId: string | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

/** An edge's state when its part of a purge begins: pending, or out of rotation already (with why). */
export interface NewEdgePurgeState {
  edge: string;
  kind: string;
  state: 'pending' | 'out_of_rotation';
  lastError?: string;
}

export interface EdgePurgeStore {
  /**
   * Adds a state for each edge that has none for this purge yet (a re-driven purge keeps what it has, and an
   * edge added since is not asked); resolves with every state of the purge, by edge name. The pending states
   * it adds are taken by the caller for `leaseMs` at once, as `take` would (no one else can have them yet):
   * `taken` names their edges.
   */
  begin(purgeId: string, edges: readonly NewEdgePurgeState[], at: number, leaseMs: number): Promise<{ states: EdgePurgeState[]; taken: Set<string> }>;
  /** Every state of a purge, by edge name. */
  list(purgeId: string): Promise<EdgePurgeState[]>;
  /**
   * Takes a pending state whose next try is due and which no one holds, for `leaseMs`; undefined when it is
   * not due, held by another node, or final. Only the taker tries it, so a vendor is asked once per try.
   */
  take(purgeId: string, edge: string, now: number, leaseMs: number): Promise<EdgePurgeState | undefined>;
  /**
   * Records a try's outcome and lets go of the state; a state that is final already is left as it is. True
   * when it recorded it.
   */
  settle(update: EdgePurgeUpdate, at: number): Promise<boolean>;
  /**
   * When each named edge last confirmed a purge (milliseconds since the epoch), within the purges kept; edges
   * with none are left out. One indexed lookup per edge: cheap enough for every status read.
   */
  lastPurged(edges: readonly string[]): Promise<Map<string, number>>;
  /** Forgets up to `limit` states of purges created before `cutoff` (retention); how many. */
  deleteBefore(cutoff: number, limit: number): Promise<number>;
}
