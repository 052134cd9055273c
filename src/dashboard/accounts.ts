import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { AccountStore } from '../store/stores.ts';

/** The account created on the first start; the dashboard's purges are requested by `user:<name>`. */
export const ADMIN_USERNAME = 'admin';
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB per hash: costly to guess at scale, still a quick sign-in). */
const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, keyLength, { ...options, maxmem: 256 * options.N! * options.r! }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$<salt, base64>$<key, base64>`: the parameters travel with the hash, so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!Number.isSafeInteger(N) || expected.length === 0) return false;
  const actual = await scrypt(password, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A password a person can type or paste: 24 characters of base64url (144 random bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function checkNewPassword(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `The password must have at most ${MAX_PASSWORD_LENGTH} characters.`;
  return undefined;
}

/** Hashed with random salt, so that a failed lookup costs as much as a wrong password (no user enumeration by timing). */
let decoy: Promise<string> | undefined;

/**
 * Dashboard accounts (today: the one `admin`), in the `dashboard_users` table. Only a salted scrypt hash of
 * each password is stored, and it is compared in constant time.
 */
export class AdminAccounts {
  constructor(private readonly store: AccountStore) {}

  exists(username: string): Promise<boolean> {
    return this.store.exists(username);
  }

  /** Creates `admin` with a random password when there is no account yet; returns that password (shown once). */
  async ensureAdmin(): Promise<string | undefined> {
    if (await this.store.exists(ADMIN_USERNAME)) return undefined;
    const password = generatePassword();
    const created = await this.store.createIfMissing(ADMIN_USERNAME, await hashPassword(password), Date.now());
    return created ? password : undefined;
  }

  /** Sets (or creates) an account's password, ends its sessions and forgets its trusted browsers. */
  async setPassword(username: string, password: string): Promise<{ created: boolean; sessionsEnded: number; devicesForgotten: number }> {
    const problem = checkNewPassword(password);
    if (problem) throw new Error(problem);
    return this.store.setPassword(username, await hashPassword(password), Date.now());
  }

  async verify(username: string, password: string): Promise<boolean> {
    const hash = await this.store.passwordHash(username);
    if (hash === undefined || password.length > MAX_PASSWORD_LENGTH) {
      await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await (decoy ??= hashPassword(generatePassword())));
      return false;
    }
    return verifyPassword(password, hash);
  }
}
