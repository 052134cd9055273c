/** Failed dashboard sign-ins in a row of one key (`address:…`, `account:…`, `device:…`), and when the last one was. */
export interface FailureCount {
  count: number;
  /** Milliseconds since the epoch, by the clock of the node that counted it. */
  lastAt: number;
}

/** What a sign-in attempt decided from the counts of its keys: the counts to write (none when refused), and its answer. */
export interface FailureDecision<T> {
  write: readonly FailureCount[] | undefined;
  result: T;
}

/**
 * The dashboard's sign-in failure counts (`sign_in_failures`), shared by every node of a cluster so that an
 * attacker spreading guesses over N nodes gets no more than against one. The backoff rules live with the
 * limiter (dashboard/sign-in-limiter.ts); the store only keeps counts and orders attempts.
 *
 * Invariant: `update` reads and writes in one transaction that every other `update` on one of the same keys,
 * on any node, waits for; so attempts sent together cannot all pass on the same count.
 */
export interface SignInFailureStore {
  /**
   * Reads the counts of `keys` (undefined: none), asks `decide`, and writes what it returns in their place
   * (in the order of `keys`). Counts whose last failure is at or before `forgetBefore` are dropped first.
   */
  update<T>(keys: readonly string[], forgetBefore: number, decide: (current: (FailureCount | undefined)[]) => FailureDecision<T>): Promise<T>;
  /** A success: these keys start again from zero. */
  forget(keys: readonly string[]): Promise<void>;
  /** How many keys starting with `prefix` are counted. */
  size(prefix: string): Promise<number>;
}
