/**
 * The purge log: the one durable record of every purge, and the source of the purge sequence (see
 * cache/freshness.ts). Appending a purge numbers it and writes the marks of its scopes (the newest sequence
 * number per scope) in the same transaction, so a purge is in effect on every node that loads the marks the
 * moment it is acknowledged. SQLite (sqlite/purge-log.ts) is one node's log; PostgreSQL
 * (postgres/purge-log.ts) is shared by the nodes of a cluster, and says so with `shared`.
 */

import type { Outbox } from './webhook-store.ts';

/** `failed` is only found in records of older versions, which failed a purge whose origin could not be asked. */
export type PurgeStatus = 'pending' | 'completed' | 'failed';
/** `tag`: every asset carrying a tag (purge/tag-purge.ts), in one Source or in every Source. */
export type PurgeMatch = 'exact' | 'prefix' | 'source' | 'tag';
/** What the origin said when the purge was applied; `unknown` when it could not be asked (`originError` says why). */
export type OriginVerdict = 'removed' | 'replaced' | 'unchanged' | 'unknown';

export interface PurgeRecord {
  id: string;
  /** Empty for a whole-Source purge and a tag purge. */
  url: string;
  /** Empty for a tag purge of every Source. */
  sourceId: string;
  /** Canonical path (or prefix) purged; empty for a whole-Source purge. */
  path: string;
  match: PurgeMatch;
  subImage: boolean;
  /** With `subImage`: the Source whose parent images use the sub-image. */
  parentSourceId: string | undefined;
  status: PurgeStatus;
  origin: OriginVerdict | undefined;
  /** With `origin: 'unknown'`: why the origin could not be asked. */
  originError?: string | undefined;
  /** Cached entries of the asset (a tag purge: of its assets) found on the accepting node when the purge was accepted. */
  matched: number | undefined;
  /** A tag purge's tag, matched exactly. */
  tag?: string | undefined;
  /** A tag purge's assets: how many carried the tag when it was accepted. */
  assets?: number | undefined;
  /** The purge's sequence number. */
  generation: number | undefined;
  /** Why an older version failed the purge. */
  error: string | undefined;
  requestedBy: string | undefined;
  createdAt: number;
  completedAt: number | undefined;
  /** Which nodes and edges it reached; set when it completes. */
  report?: PurgeReport | undefined;
}

/** Where a purge took effect: the nodes sharing the log, then the edges (status document). */
export interface PurgeReport {
  nodes: { applied: string[]; fenced: string[] };
  edges: { purged: string[]; out_of_rotation: string[] };
}

/** A purge as the log holds it: its sequence number and the freshness scopes it marks. */
export interface LoggedPurge extends PurgeRecord {
  seq: number;
  scopes: string[];
}

/** A log entry as every node applies it. */
export type LogEntry = Pick<LoggedPurge, 'seq' | 'id' | 'scopes' | 'match' | 'sourceId' | 'path'>;

/** What a node builds its freshness state from (cache/freshness.ts). */
export interface LogSnapshot {
  /** The newest sequence number handed out: every cached entry carries one at or below it. */
  seq: number;
  /** The mark of every scope above the floor. */
  marks: [string, number][];
  /** Everything built before it is stale; the marks at or below it are forgotten (retention). */
  floor: number;
}

/** Which node drives a pending purge to completion, and until when: past it, any node may claim it. */
export interface PurgeClaim {
  coordinator: string;
  claimMs: number;
}

export interface PurgeListQuery {
  status?: PurgeStatus | undefined;
  /** Text the URL must contain (case-insensitive for ASCII; `%` and `_` taken literally). */
  urlContains?: string | undefined;
  limit: number;
  offset: number;
}

/** What a node hears of the others through a shared log. */
export interface LogListener {
  /** Some node appended purges. */
  appended(): void;
  /** Some node acknowledged purges it applied (store/node-states.ts). */
  acknowledged(): void;
  /** The connection was lost and made again: what was said meanwhile is lost, so read the log again. */
  reconnected(): void;
  error(error: unknown): void;
}

/** The log as the nodes of a cluster share it: how one node follows what the others append. */
export interface SharedLog {
  /** The log's id: cached entries carry its sequence numbers, which mean nothing against another log's. */
  id(): Promise<string>;
  /** Listens until closed; rejects if it cannot start. */
  listen(listener: LogListener): Promise<{ close(): Promise<void> }>;
  /** Entries after `seq`, in order. */
  after(seq: number, limit: number): Promise<LogEntry[]>;
  /**
   * Records how many cached entries each of these exact purges matched on node `nodeId`, which applied them by
   * following the log: a purge's `matched` is the count of the node that accepted it plus these (once per node).
   */
  recordMatches(nodeId: string, counts: readonly { seq: number; matched: number }[]): Promise<void>;
}

export interface PurgeLog {
  /**
   * Appends a purge with the next sequence number and the marks of `scopes`, claimed by `claim`; resolves with
   * the number once durable. Purges appended together share one transaction (group commit).
   */
  append(record: PurgeRecord, scopes: readonly string[], claim: PurgeClaim): Promise<number>;
  /** The marks above the floor, the newest number and the floor, read in one snapshot. */
  snapshot(): Promise<LogSnapshot>;
  get(id: string): Promise<LoggedPurge | undefined>;
  /** A page of purges, newest first, and how many match in all. */
  list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }>;
  /** Claims up to `limit` pending purges whose claim ran out (each for one caller only), oldest first. */
  claimStale(claim: PurgeClaim, limit: number): Promise<LoggedPurge[]>;
  /**
   * Records the outcome; only the first completion counts, and only it writes the events of `outbox` (in
   * its transaction: see webhook-store.ts). Durable soon after it resolves rather than at once: a completion
   * lost in a crash leaves the purge pending, and it is driven to completion again, with its events.
   */
  complete(record: PurgeRecord, outbox?: Outbox<PurgeRecord>): Promise<void>;
  /** Raises the floor to the newest purge that completed before `cutoff` (it only rises); returns it. */
  raiseFloor(cutoff: number): Promise<number>;
  /** Deletes up to `limit` marks at or below the floor; returns how many (fewer than `limit`: none are left). */
  deleteMarksUpTo(floor: number, limit: number): Promise<number>;
  /** Deletes up to `limit` purges created before `cutoff` that are no longer pending; returns how many. */
  deleteEndedBefore(cutoff: number, limit: number): Promise<number>;
  /**
   * Adds up to `limit` purges to the URL search's index, in the background; returns how many (fewer than
   * `limit`: it has caught up). A log searched without an index of its own has nothing to add.
   */
  indexForSearch(limit: number): Promise<number>;
  /** Present when other nodes append to this log too (a cluster); absent, this process is its only writer. */
  readonly shared?: SharedLog;
}
