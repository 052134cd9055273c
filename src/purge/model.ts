export type PurgeStatus = 'pending' | 'completed' | 'failed';
export type PurgeMatch = 'exact' | 'prefix' | 'source';
export type OriginVerdict = 'removed' | 'replaced' | 'unchanged';

export interface PurgeRecord {
  id: string;
  url: string;
  sourceId: string;
  /** Canonical path (or prefix) purged; empty for a whole-Source purge. */
  path: string;
  match: PurgeMatch;
  subImage: boolean;
  /** With `subImage`: the Source whose parent images use the sub-image. */
  parentSourceId: string | undefined;
  status: PurgeStatus;
  origin: OriginVerdict | undefined;
  /** Cached entries of the asset found when the purge ran. */
  matched: number | undefined;
  /** The purge sequence number it was applied as. */
  generation: number | undefined;
  error: string | undefined;
  requestedBy: string | undefined;
  createdAt: number;
  completedAt: number | undefined;
  /** Which nodes and edges it reached; set when it completes. */
  report?: PurgeReport | undefined;
}

/** Where a purge took effect beyond this node: the cluster's nodes, then the edges (status document). */
export interface PurgeReport {
  nodes: { applied: string[]; fenced: string[] };
  edges: { purged: string[]; out_of_rotation: string[] };
}
