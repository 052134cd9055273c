import { stringBytes } from './footprint.ts';

/** The LRU's own bookkeeping per entry, besides the key's characters: the Map slot and the record. */
const RECORD_BYTES = 128;

/**
 * A least-recently-used map bounded by the memory its entries keep: each value's size as the caller
 * measures it (the value and everything it holds, see footprint.ts), plus the key and the LRU's own record.
 * Map iteration order is insertion order, so re-inserting on access keeps the oldest entry first and
 * eviction is O(1).
 *
 * Re-inserting costs a delete and an insert on every hit, so an entry among the most recent quarter is
 * left where it is: it is nowhere near eviction, and a hot entry then costs one map lookup per hit.
 */
export class MemoryLru<V> {
  private readonly entries = new Map<string, { value: V; size: number; touched: number }>();
  private total = 0;
  /** Counts insertions and moves: `clock - touched` is how many entries went in after this one. */
  private clock = 0;

  constructor(
    private readonly maxBytes: number,
    /** The largest single entry admitted: one huge item must not flush the whole tier. */
    private readonly maxItemBytes = Math.max(1, Math.floor(maxBytes / 8)),
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock - entry.touched > this.entries.size >> 2) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.touched = ++this.clock;
    }
    return entry.value;
  }

  /** What an entry counts against the bound: its value's bytes, its key and the LRU's record. */
  static entryBytes(key: string, valueBytes: number): number {
    return valueBytes + stringBytes(key) + RECORD_BYTES;
  }

  set(key: string, value: V, valueBytes: number): void {
    this.delete(key);
    const size = MemoryLru.entryBytes(key, valueBytes);
    if (size > this.maxItemBytes) return;
    this.entries.set(key, { value, size, touched: ++this.clock });
    this.total += size;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.size;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.size;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }
}
