/**
 * Freshness by purge sequence — the one idea behind Pictor's freshness and O(1) purge invariants.
 *
 * Every applied purge takes the next number of a global sequence and records it as the "mark" of the scope
 * it purged: an asset (`A`), a path prefix (`P`) or a whole Source (`S`). Everything cached (a master, a
 * derivative, a cached error) records `builtAt`: the sequence number current when the fetch or render that
 * produced it *started*, and the assets it was built from (`deps`). An entry is fresh only while no scope
 * covering any of its deps has a mark above `builtAt`.
 *
 * - A purge is one increment and one map write, whatever is cached (nothing is scanned or deleted inline).
 * - A render that started before a purge carries an older `builtAt`, so its result is refused on write and,
 *   should a write race past the check, on every read: reads decide freshness, cleanup never does.
 * - Coalescing joins an in-flight render only while it is still fresh, so no request that starts after a
 *   purge completes joins work that started before it.
 */
export type AssetRef = string;

export function assetRef(sourceId: string, canonicalPath: string): AssetRef {
  return `${sourceId}:${canonicalPath}`;
}

export function assetScope(sourceId: string, canonicalPath: string): string {
  return `A:${sourceId}:${canonicalPath}`;
}

export function prefixScope(sourceId: string, canonicalPrefix: string): string {
  return `P:${sourceId}:${canonicalPrefix}`;
}

export function sourceScope(sourceId: string): string {
  return `S:${sourceId}`;
}

/**
 * The scopes covering one dependency: its Source, the asset, each folder above it — exactly the marks
 * `isFresh` consults for it (which walks them inline, as it runs on every read).
 */
export function scopesCovering(dep: AssetRef): string[] {
  const colon = dep.indexOf(':');
  const sourceId = dep.slice(0, colon);
  const path = dep.slice(colon + 1);
  const scopes = [sourceScope(sourceId), assetScope(sourceId, path)];
  for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) scopes.push(prefixScope(sourceId, path.slice(0, slash + 1)));
  return scopes;
}

/**
 * The freshness state of one node, built from the purge log's snapshot and kept by its owner
 * (purge/ledger.ts), which applies every purge in it; caches only read it (`FreshnessView`).
 */
export class Freshness {
  private seq: number;
  private readonly marks: Map<string, number>;
  private prefixMarks = 0;
  /**
   * Everything built before the floor is stale. Compaction raises it to forget old marks: a mark at or below
   * the floor can no longer make anything stale that the floor does not already (see `compact`).
   */
  private floor: number;

  /**
   * @param marks the persisted marks.
   * @param seq the newest sequence number handed out: cached entries carry numbers up to it, so a purge
   *   numbered after it outranks every one of them.
   */
  constructor(marks: Iterable<[string, number]> = [], seq = 0, floor = 0) {
    this.floor = floor;
    this.marks = new Map();
    this.seq = Math.max(seq, floor);
    for (const [scope, mark] of marks) {
      if (mark > this.seq) this.seq = mark;
      if (mark <= floor) continue;
      this.marks.set(scope, mark);
      if (scope.startsWith('P:')) this.prefixMarks++;
    }
  }

  /**
   * Raises the floor (already persisted by the caller) and forgets the marks at or below it. Entries built
   * before the floor become stale whatever they depend on, which is what makes forgetting those marks safe:
   * a mark at seq s only ever made entries built before s stale, and s ≤ floor.
   */
  compact(floor: number): void {
    if (floor <= this.floor) return;
    this.floor = floor;
    for (const [scope, seq] of this.marks) {
      if (seq > floor) continue;
      this.marks.delete(scope);
      if (scope.startsWith('P:')) this.prefixMarks--;
    }
  }

  /** Marks held in memory (those above the floor). */
  get size(): number {
    return this.marks.size;
  }

  /** The sequence number a fetch or render records when it starts. */
  current(): number {
    return this.seq;
  }

  /**
   * Applies a purge numbered `seq` by the log. Numbers only grow, so an entry applied twice (a replay after a
   * reconnect), or after a newer one, changes nothing it should not: each mark keeps the newest number.
   */
  applyAt(scopes: readonly string[], seq: number): void {
    for (const scope of scopes) {
      if ((this.marks.get(scope) ?? 0) >= seq) continue;
      if (scope.startsWith('P:') && !this.marks.has(scope)) this.prefixMarks++;
      this.marks.set(scope, seq);
    }
    if (seq > this.seq) this.seq = seq;
  }

  /** Whether something built at `builtAt` from these assets is still fresh. */
  isFresh(deps: readonly AssetRef[], builtAt: number): boolean {
    if (builtAt >= this.seq) return true; // nothing was purged since: the common case costs one comparison
    if (builtAt < this.floor) return false;
    for (const dep of deps) {
      if (!this.isAssetFresh(dep, builtAt)) return false;
    }
    return true;
  }

  private isAssetFresh(ref: AssetRef, builtAt: number): boolean {
    const colon = ref.indexOf(':');
    const sourceId = ref.slice(0, colon);
    const path = ref.slice(colon + 1);
    if ((this.marks.get(`S:${sourceId}`) ?? 0) > builtAt) return false;
    if ((this.marks.get(`A:${ref}`) ?? 0) > builtAt) return false;
    if (this.prefixMarks > 0) {
      for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
        if ((this.marks.get(`P:${sourceId}:${path.slice(0, slash + 1)}`) ?? 0) > builtAt) return false;
      }
    }
    return true;
  }
}

/** What caches need of the freshness state: they read it, and never change it. */
export type FreshnessView = Pick<Freshness, 'isFresh' | 'current'>;
