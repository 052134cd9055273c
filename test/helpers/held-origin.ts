import type { Origin } from '../../src/sources/origin.ts';
import { gate } from './pictor.ts';

export type Gate = ReturnType<typeof gate>;

/**
 * Pictor's origins, seen through its `originInterceptor` hook: reads are counted, and a test can hold the
 * next read open (it has fetched, and waits to return) to race it against a purge.
 */
export interface HeldOrigin {
  /** For startPictor's `hooks.originInterceptor`. */
  interceptor(origin: Origin): Origin;
  /** Origin reads so far. */
  reads(): number;
  /**
   * Holds the next read once it has fetched, until the gate is opened; `waiting()` says when it is held.
   * Open it in a `finally`: an assertion that fails while a read is held must fail the test, not hang it.
   */
  holdNext(): Gate;
  /** Stops holding: a read not held yet goes through. */
  disarm(): void;
}

export function heldOrigin(): HeldOrigin {
  let reads = 0;
  let armed: Gate | undefined;
  return {
    interceptor: (origin) => ({
      fetch: async (path, validators) => {
        reads++;
        const result = await origin.fetch(path, validators);
        const held = armed;
        armed = undefined; // only the first read after arming
        if (held) await held.wait();
        return result;
      },
    }),
    reads: () => reads,
    holdNext: () => (armed = gate()),
    disarm: () => {
      armed = undefined;
    },
  };
}
