/** One node's place in the purge log. */
export interface NodeState {
  id: string;
  /** The newest sequence number up to which it has applied every purge. */
  lastApplied: number;
  /** When its lease runs out, by the database's clock (ms); undefined for a lease that never does (one node, SQLite). */
  leaseUntil?: number | undefined;
  /** Its lease ran out. */
  expired: boolean;
  fenced: boolean;
}

/**
 * The nodes that apply the purge log, and their leases (the rules: cluster/cluster-node.ts). PostgreSQL keeps
 * every node of a cluster, timed by the database's clock (postgres/node-states.ts); SQLite keeps the one node
 * of a data directory, whose lease never runs out: no other node completes a purge without it
 * (sqlite/node-states.ts).
 */
export interface NodeStates {
  /** Registers a node (or finds it again after a restart); it stays fenced if it was. */
  register(id: string): Promise<void>;
  /** Records where the node serves, for operators. */
  announce(id: string, urls: { render: string; admin: string }): Promise<void>;
  /** Records that the node applied the log up to `seq` (it only rises); says whether the node is fenced. */
  ack(id: string, seq: number): Promise<{ fenced: boolean }>;
  /** Extends the lease if the node is not fenced and has applied the whole log; false otherwise. */
  renew(id: string, leaseSeconds: number): Promise<boolean>;
  /** Lifts the fence of a node that has applied the whole log; false while it is behind. */
  rejoin(id: string, leaseSeconds: number): Promise<boolean>;
  /** Every node, by id. */
  states(): Promise<NodeState[]>;
  /** Fences a node whose lease ran out before it applied `seq`; true if it is fenced now. */
  fence(id: string, seq: number): Promise<boolean>;
  /** Forgets nodes that have been gone (fenced, lease over) for longer than `seconds`; returns how many. */
  forgetGone(seconds: number): Promise<number>;
}
