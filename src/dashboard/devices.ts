import { randomBytes } from 'node:crypto';
import type { DeviceStore } from '../store/stores.ts';
import { hashId } from './session.ts';

/** Sent only to the sign-in form (`Path=/dashboard/sign-in`). */
export const DEVICE_COOKIE = 'pictor_device';
export const DEVICE_TTL_MS = 365 * 24 * 60 * 60 * 1000;
/** Each sign-in from a browser without a device cookie (a private window, cleared cookies) adds a device: keep the newest. */
const DEVICES_PER_ACCOUNT = 50;

/**
 * Browsers that signed in to an account before (OWASP's device cookie): the cookie carries 256 random bits,
 * the table only their SHA-256. Sign-in limits a trusted device by its own failures only (sign-in-limiter.ts),
 * so nobody else's guessing can keep the admin out of a browser they used before.
 */
export class TrustedDevices {
  constructor(
    private readonly store: DeviceStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The id hash of the device a cookie names, when it is a live device of `username`; else undefined (no cookie,
   * a malformed or forged one, a revoked or expired device, or another account's).
   */
  async find(cookie: string | undefined, username: string): Promise<string | undefined> {
    if (cookie === undefined || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined;
    const row = await this.store.find(hashId(cookie));
    return row && row.username === username && row.expires_at > this.now() ? row.id_hash : undefined;
  }

  /** Trusts the browser that just signed in with a new id (retiring the one it presented); returns the cookie value. */
  async issue(username: string, previous: string | undefined): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.insert({ id_hash: hashId(id), username, signed_in_at: now, expires_at: now + DEVICE_TTL_MS }, { replaces: previous, keepPerAccount: DEVICES_PER_ACCOUNT });
    return id;
  }
}
