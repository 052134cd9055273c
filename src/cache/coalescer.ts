import type { AssetRef, FreshnessView } from './freshness.ts';

interface InFlight<T> {
  promise: Promise<T>;
  deps: readonly AssetRef[];
  builtAt: number;
}

/**
 * Collapses concurrent identical work (origin fetches, renders) into one. A caller joins an in-flight task
 * only while it is still fresh: once a purge of its deps has been applied, the next caller starts anew,
 * so no request that starts after a purge completes receives work that started before it.
 */
export class Coalescer<T> {
  private readonly inFlight = new Map<string, InFlight<T>>();

  constructor(private readonly freshness: FreshnessView) {}

  run(key: string, deps: readonly AssetRef[], task: (builtAt: number) => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.inFlight.get(key);
    if (existing && this.freshness.isFresh(existing.deps, existing.builtAt)) return { promise: existing.promise, joined: true };
    const builtAt = this.freshness.current();
    const promise = task(builtAt);
    const entry = { promise, deps, builtAt };
    this.inFlight.set(key, entry);
    const done = (): void => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    };
    promise.then(done, done);
    return { promise, joined: false };
  }

  get size(): number {
    return this.inFlight.size;
  }
}
