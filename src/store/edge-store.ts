/** A Varnish edge in the registry. */
export interface EdgeRecord {
  name: string;
  /** Where PURGE requests go: `http://host:port`. */
  url: string;
  /** Whether clients may be routed to it: false once it missed a purge, until it is flushed and re-admitted. */
  inRotation: boolean;
  /** Why it was taken out of rotation (null while in rotation). */
  reason: string | null;
  changedAt: number;
  createdAt: number;
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
  add(edge: { name: string; url: string }): Promise<EdgeRecord | undefined>;
  /** False when there was no such edge. */
  remove(name: string): Promise<boolean>;
  /** Puts the edge in or out of rotation (the reason is kept only while out); false when there is no such edge. */
  setInRotation(name: string, inRotation: boolean, reason?: string): Promise<boolean>;
}
