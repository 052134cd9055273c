/** Values of an edge's settings (edges/kinds.ts says which a kind takes). */
export type EdgeSettings = Record<string, string | boolean>;

/** An edge in the registry: a cache in front of Pictor (Varnish, nginx) or a CDN purged through its API. */
export interface EdgeRecord {
  name: string;
  /** `varnish`, `nginx`, `cloudflare`, `fastly`, `cloudfront` (edges/kinds.ts). */
  kind: string;
  /** Where PURGE requests go, `http://host:port` (Varnish, nginx); null for a CDN reached through its API. */
  url: string | null;
  /** What is not secret: zone and service ids, the API endpoint, … */
  settings: EdgeSettings;
  /**
   * API tokens and secret keys, opened. Sealed at rest (edge-secrets.ts); they are never written out by the API,
   * the CLI or the dashboard, which show only which are set (`secretNames`).
   */
  secrets: Record<string, string>;
  /** Whether clients may be routed to it: false once it missed a purge, until it is flushed and re-admitted. */
  inRotation: boolean;
  /** Why it was taken out of rotation (null while in rotation). */
  reason: string | null;
  /** When it last went in or out of rotation; every change moves it forward (the guard of `readmitIfUnchanged`). */
  changedAt: number;
  createdAt: number;
  /** When it was last put back in rotation after a flush, and by whom; null until it first was. */
  readmittedAt: number | null;
  readmittedBy: ReadmittedBy | null;
  /** The last error seen for it: the purge it missed, or a flush that failed since; kept after it is back. */
  lastError: string | null;
}

/** Who put an edge back in rotation: the healer (edges/edge-healer.ts) or an operator (`pictor edges readmit`). */
export type ReadmittedBy = 'automatic' | 'operator';

/** What `EdgeStore.add` writes; a kind left out is `varnish`, as every edge was before kinds. */
export interface NewEdge {
  name: string;
  kind?: string;
  url: string | null;
  settings?: EdgeSettings;
  secrets?: Record<string, string>;
}

/**
 * The edges registry, in SQLite (one node) or PostgreSQL (a cluster: postgres/edge-store.ts). Async, so the
 * two are interchangeable.
 */
export interface EdgeStore {
  /** Every edge, by name. */
  list(): Promise<EdgeRecord[]>;
  get(name: string): Promise<EdgeRecord | undefined>;
  /** Adds an edge in rotation; undefined when the name is taken (nothing is changed then). */
  add(edge: NewEdge): Promise<EdgeRecord | undefined>;
  /** False when there was no such edge. */
  remove(name: string): Promise<boolean>;
  /**
   * Puts the edge in or out of rotation (the reason is kept only while out, and is its last error); false when
   * there is no such edge. `changedAt` moves forward on every call, even within one millisecond.
   */
  setInRotation(name: string, inRotation: boolean, reason?: string): Promise<boolean>;
  /**
   * Puts an edge that was flushed back in rotation, only if it is still out and unchanged since `changedAt` (as
   * read before the flush began): a take-out in between wins. False when nothing was changed.
   */
  readmitIfUnchanged(name: string, changedAt: number, by: ReadmittedBy): Promise<boolean>;
  /**
   * Records an edge's last error while it is still out and unchanged since `changedAt`; writes nothing when the
   * error is the one recorded already. False when nothing was changed.
   */
  noteError(name: string, changedAt: number, error: string): Promise<boolean>;
}
