export type VideoState = 'processing' | 'processed' | 'error';

/** What the origin said about the bytes a version was made from: compared on refresh and recheck. */
export interface VideoOrigin {
  etag: string | null;
  lastModified: string | null;
  size: number;
  /** SHA-256 of the bytes: a file touched but not changed is not encoded again. */
  sha256: string;
  /** The origin object they were read from (sources/origin.ts); absent in records of older versions. */
  object?: string;
}

/** The Video API's state of one video (a Source and an origin path). */
export interface VideoRecord {
  sourceId: string;
  path: string;
  state: VideoState;
  /** Error code (src/errors.ts) and a reason a person understands, in the error state; null otherwise. */
  errorCode: string | null;
  reason: string | null;
  /** Increases with every processing of new bytes; outputs live under their version, so old ones are never served. */
  version: number;
  origin: VideoOrigin;
  /** ffprobe's summary and JSON (video/probe.ts), or null when the file could not be read. */
  probe: unknown;
  createdAt: number;
  updatedAt: number;
  /** Last time the origin was asked about this video (processing, refresh or recheck). */
  checkedAt: number;
  /** The process encoding the current version and when its claim lapses (ms), or null when none holds it. */
  claim: { node: string; expiresAt: number } | null;
  /** Encodes started for this video, over every version and node (each claim taken counts one). */
  encodes: number;
}

/**
 * The Video API's states, in SQLite (one node) or PostgreSQL (postgres/video-store.ts). Versions make
 * every step a compare-and-set: a job that finishes after its video was reprocessed or removed changes nothing.
 */
export interface VideoStore {
  get(sourceId: string, path: string): Promise<VideoRecord | undefined>;
  /**
   * Starts processing new bytes: creates the record at version 1, or moves it to the next version, in the
   * `processing` state with these origin validators and probe. Returns the record as written.
   */
  startVersion(sourceId: string, path: string, origin: VideoOrigin, probe: unknown, at: number): Promise<VideoRecord>;
  /**
   * startVersion as a compare-and-set: only if the record is still at version `after` (null: there is no
   * record yet). Undefined when another process moved it first: of nodes that find the same new bytes at once,
   * exactly one starts the version.
   */
  startVersionAfter(
    sourceId: string,
    path: string,
    after: number | null,
    origin: VideoOrigin,
    probe: unknown,
    at: number,
  ): Promise<VideoRecord | undefined>;
  /**
   * Claims the encode of `version` for `node` until `at + leaseMs`, if the version is current and `processing`
   * and no other node holds an unexpired claim on it (a node may claim again what it holds). Counts one encode.
   * True when the claim is `node`'s: then, and only then, may it encode. A claim ends with the version's
   * processing (processed, error, a newer version) or when it expires: a crashed encoder's work moves on.
   */
  claimEncode(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean>;
  /** Extends `node`'s claim on `version` to `at + leaseMs`; false when it no longer holds it (expired and taken, or ended). */
  renewClaim(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean>;
  /** `processing` → `processed`, if `version` is still the current one; false otherwise. */
  markProcessed(sourceId: string, path: string, version: number, at: number): Promise<boolean>;
  /** → `error` with its code and reason, if `version` is still the current one; false otherwise. */
  markError(sourceId: string, path: string, version: number, error: { code: string; reason: string }, at: number): Promise<boolean>;
  /** Records that the origin still has these bytes (validators may have changed, as for a touched file). */
  markChecked(sourceId: string, path: string, origin: VideoOrigin, at: number): Promise<void>;
  /** False when there was no such record. */
  remove(sourceId: string, path: string): Promise<boolean>;
  /** Every record in `state`, oldest change first. */
  listByState(state: VideoState, limit: number): Promise<VideoRecord[]>;
  /** Records whose origin was last asked before `before` (ms), least recently checked first. */
  listCheckedBefore(before: number, limit: number): Promise<VideoRecord[]>;
}

export interface VideoRow {
  source_id: string;
  path: string;
  state: VideoState;
  error_code: string | null;
  reason: string | null;
  version: number | string;
  origin: string | VideoOrigin;
  probe: string | null | unknown;
  created_at: number | string;
  updated_at: number | string;
  checked_at: number | string;
  claim_node: string | null;
  claim_expires: number | string | null;
  encodes: number | string;
}


/** A row of either database as a record (SQLite stores JSON as text and numbers as numbers; pg BIGINT as strings, JSONB parsed). */
export function toVideoRecord(row: VideoRow): VideoRecord {
  return {
    sourceId: row.source_id,
    path: row.path,
    state: row.state,
    errorCode: row.error_code,
    reason: row.reason,
    version: Number(row.version),
    origin: (typeof row.origin === 'string' ? JSON.parse(row.origin) : row.origin) as VideoOrigin,
    probe: typeof row.probe === 'string' ? (JSON.parse(row.probe) as unknown) : (row.probe ?? null),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    checkedAt: Number(row.checked_at),
    claim: row.claim_node === null || row.claim_expires === null ? null : { node: row.claim_node, expiresAt: Number(row.claim_expires) },
    encodes: Number(row.encodes),
  };
}
