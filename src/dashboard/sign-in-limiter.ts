import ipaddr from 'ipaddr.js';
import { FailureBackoff } from '../auth/backoff.ts';
import type { SignInFailureStore } from '../store/sign-in-failures.ts';

/** Which count refused an attempt. */
export type SignInLimit = 'address' | 'account' | 'device';

export interface SignInAttempt {
  /** The client address (`request.ip`). */
  address: string;
  /** The account signed in to, when it exists; attempts on names that do not exist all share one count. */
  account: string | undefined;
  /** The id hash of a trusted device of that account, when the browser presented one (see devices.ts). */
  device: string | undefined;
}

export interface SignInRefusal {
  limit: SignInLimit;
  retryAfterSeconds: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const SHARED = { firstDelayMs: SECOND, maxDelayMs: 15 * MINUTE, forgetAfterMs: 24 * 60 * MINUTE };

/** A person mistyping from one place. */
const ADDRESS_POLICY = new FailureBackoff({ ...SHARED, freeFailures: 5 });
/** More free failures than an address, so that one address alone cannot make every other one wait. */
const ACCOUNT_POLICY = new FailureBackoff({ ...SHARED, freeFailures: 20 });
/** Only devices found in the store are counted (at most 50 an account, see devices.ts). */
const DEVICE_POLICY = new FailureBackoff({ ...SHARED, freeFailures: 5 });

/**
 * The one key of every name that is not an account: made-up names cannot add rows, reset an account's
 * failures, or earn fresh free failures.
 */
const UNKNOWN_ACCOUNT = 'account-unknown';

/**
 * When a dashboard sign-in may check its password. Only failures count, with exponential backoff per key.
 * A browser that presents a trusted device of the account (OWASP's device cookie) is held back only by that
 * device's own failures; every other attempt by its address and by its account. So guessing, from the admin's
 * own address or from many, slows the guesser and new browsers, never the admin's trusted browser.
 *
 * Invariant: the counts are in the store (`SignInFailureStore`), which every node of a cluster shares, so N
 * nodes give an attacker no more attempts than one. Counts live a day after their last failure; a key costs a
 * row only once it has been admitted to a password check, so the rows are bounded by what the checks allow.
 */
export class SignInLimiter {
  constructor(
    private readonly store: SignInFailureStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Undefined when the attempt may check its password; else which count refused it and for how long (a refused
   * attempt changes nothing). An admitted attempt counts as a failure at once, in the same transaction as the
   * check, so that attempts sent together (to any node) cannot all pass before the first has failed;
   * `succeeded` takes it back.
   */
  async admit(attempt: SignInAttempt): Promise<SignInRefusal | undefined> {
    const now = this.now();
    const counts = countsOf(attempt);
    const keys = counts.map(([, , key]) => key);
    return this.store.update(keys, now - SHARED.forgetAfterMs, (current) => {
      let refusal: { limit: SignInLimit; waitMs: number } | undefined;
      counts.forEach(([limit, backoff], i) => {
        const waitMs = backoff.waitMs(current[i], now);
        if (waitMs > 0 && waitMs > (refusal?.waitMs ?? 0)) refusal = { limit, waitMs };
      });
      if (refusal) return { write: undefined, result: { limit: refusal.limit, retryAfterSeconds: Math.ceil(refusal.waitMs / SECOND) } };
      return { write: counts.map(([, backoff], i) => backoff.fail(current[i], now)), result: undefined };
    });
  }

  /** The right password: its counts start again from zero. */
  async succeeded(attempt: SignInAttempt): Promise<void> {
    await this.store.forget(countsOf(attempt).map(([, , key]) => key));
  }

  /** How many keys each count remembers. */
  async sizes(): Promise<Record<SignInLimit, number>> {
    const [address, account, device] = await Promise.all(['address:', 'account', 'device:'].map((prefix) => this.store.size(prefix)));
    return { address: address!, account: account!, device: device! };
  }
}

function countsOf(attempt: SignInAttempt): [SignInLimit, FailureBackoff, string][] {
  if (attempt.device !== undefined) return [['device', DEVICE_POLICY, `device:${attempt.device}`]];
  return [
    ['address', ADDRESS_POLICY, `address:${addressKey(attempt.address)}`],
    ['account', ACCOUNT_POLICY, attempt.account === undefined ? UNKNOWN_ACCOUNT : `account:${attempt.account}`],
  ];
}

/** IPv4 addresses count one by one; IPv6 ones by their /64, which a single subscriber usually holds whole. */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  return `${(ip as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}
