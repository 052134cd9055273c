import ipaddr from 'ipaddr.js';
import { FailureBackoff, type BackoffPolicy } from '../auth/backoff.ts';

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
const ADDRESS_POLICY: BackoffPolicy = { ...SHARED, freeFailures: 5, maxKeys: 10_000 };
/**
 * More free failures than an address, so that one address alone cannot make every other one wait. Only real
 * accounts (and the one key of unknown names) are counted, so the bound is never reached in practice.
 */
const ACCOUNT_POLICY: BackoffPolicy = { ...SHARED, freeFailures: 20, maxKeys: 1_000 };
/** Only devices found in the store are counted (at most 50 an account, see devices.ts). */
const DEVICE_POLICY: BackoffPolicy = { ...SHARED, freeFailures: 5, maxKeys: 10_000 };

/**
 * The one key of every name that is not an account: made-up names cannot fill memory, push an account's failures
 * out, or earn fresh free failures.
 */
const UNKNOWN_ACCOUNT = 'unknown';

/**
 * When a dashboard sign-in may check its password. Only failures count, with exponential backoff per key.
 * A browser that presents a trusted device of the account (OWASP's device cookie) is held back only by that
 * device's own failures; every other attempt by its address and by its account. So guessing, from the admin's
 * own address or from many, slows the guesser and new browsers, never the admin's trusted browser.
 */
export class SignInLimiter {
  private readonly addresses = new FailureBackoff(ADDRESS_POLICY);
  private readonly accounts = new FailureBackoff(ACCOUNT_POLICY);
  private readonly devices = new FailureBackoff(DEVICE_POLICY);

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Undefined when the attempt may check its password; else which count refused it and for how long (a refused
   * attempt changes nothing). An admitted attempt counts as a failure at once, so that attempts sent together
   * cannot all pass before the first has failed; `succeeded` takes it back.
   */
  admit(attempt: SignInAttempt): SignInRefusal | undefined {
    const now = this.now();
    const counts = this.countsOf(attempt);
    let refusal: { limit: SignInLimit; waitMs: number } | undefined;
    for (const [limit, backoff, key] of counts) {
      const waitMs = backoff.waitMs(key, now);
      if (waitMs > 0 && waitMs > (refusal?.waitMs ?? 0)) refusal = { limit, waitMs };
    }
    if (refusal) return { limit: refusal.limit, retryAfterSeconds: Math.ceil(refusal.waitMs / SECOND) };
    for (const [, backoff, key] of counts) backoff.fail(key, now);
    return undefined;
  }

  /** The right password: its counts start again from zero. */
  succeeded(attempt: SignInAttempt): void {
    for (const [, backoff, key] of this.countsOf(attempt)) backoff.reset(key);
  }

  /** How many keys each count remembers. */
  sizes(): Record<SignInLimit, number> {
    return { address: this.addresses.size, account: this.accounts.size, device: this.devices.size };
  }

  private countsOf(attempt: SignInAttempt): [SignInLimit, FailureBackoff, string][] {
    if (attempt.device !== undefined) return [['device', this.devices, attempt.device]];
    return [
      ['address', this.addresses, addressKey(attempt.address)],
      ['account', this.accounts, attempt.account === undefined ? UNKNOWN_ACCOUNT : `account:${attempt.account}`],
    ];
  }
}

/** IPv4 addresses count one by one; IPv6 ones by their /64, which a single subscriber usually holds whole. */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  return `${(ip as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}
