import type { EdgePurgeState } from '../store/edge-purge-store.ts';
import type { PurgeListQuery, PurgeRecord } from '../store/purge-log.ts';

export interface PurgeRequest {
  url: string;
  sourceId?: string | undefined;
  subImage?: boolean | undefined;
  /** `prefix` purges every asset under the URL's folder (Pictor extension). */
  match?: 'exact' | 'prefix' | undefined;
  requestedBy?: string | undefined;
}

/** Every asset carrying a tag, in one Source or in every Source (tag-purge.ts). */
export interface TagPurgeRequest {
  /** Matched exactly, as the Assets API stores it. */
  tag: string;
  sourceId?: string | undefined;
  requestedBy?: string | undefined;
}

export interface AcceptedPurge {
  record: PurgeRecord;
  /** It joined a purge of the same thing that had not taken effect yet (the same id is returned). */
  coalesced: boolean;
}

/**
 * Purges as the API, the dashboard, the Assets API and takedowns ask for them and read them
 * (coordinator.ts; the state itself is the ledger's, ledger.ts).
 *
 * Accepting resolves only once the purge is durably recorded and in effect on this node, so the API's 200
 * means it will complete.
 */
export interface Purges {
  purge(request: PurgeRequest): Promise<AcceptedPurge>;
  /**
   * Purges one asset named by its Source and canonical path rather than by a URL (the Assets API's refresh
   * and uploads: a Source need not have a domain).
   */
  purgeAsset(sourceId: string, path: string, requestedBy: string | undefined): Promise<AcceptedPurge>;
  /** Purges every asset carrying a tag, as one purge (Pictor extension, tag-purge.ts). */
  purgeTag(request: TagPurgeRequest): Promise<AcceptedPurge>;
  /** Purges everything cached for a Source (Pictor extension: imgix needs a support ticket for this). */
  purgeSource(sourceId: string, requestedBy: string | undefined): Promise<AcceptedPurge>;
  /** A purge's current state (ahead of the log while its completion is being written). */
  get(id: string): Promise<PurgeRecord | undefined>;
  /** The purge's state once it is no longer pending, or as it stands after `ms` (the status API's `wait`). */
  settled(id: string, ms: number): Promise<PurgeRecord | undefined>;
  /** Answers the status requests waiting in `settled` at once, and any later one (the API is closing). */
  endWaits(): void;
  /** Each edge's state of a purge: pending, purged, failed or out of rotation, with the vendor's id, the tries and the last error. */
  edgeStates(id: string): Promise<EdgePurgeState[]>;
  /** A page of purges, newest first (the dashboard's listing). */
  list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }>;
  /** Purges accepted and not completed yet, on this node. */
  readonly depth: number;
  /** Stops taking work; what was acknowledged and not finished is finished after the next start. */
  stop(): Promise<void>;
}
