import { createHash, randomBytes } from 'node:crypto';
import type { SessionStore } from '../store/stores.ts';

export const SESSION_COOKIE = 'pictor_session';
/** A session lasts this long from sign-in, whatever happens meanwhile. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface Session {
  /** SHA-256 of the cookie value: what the table holds, and the key of per-session state in memory. */
  idHash: string;
  username: string;
  /** Sent back in a hidden field of every form (see csrf.ts). */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * Dashboard sessions, in the store (so a session made on one node works on every node): the cookie carries 256 random bits; only their SHA-256 is stored (a leaked
 * database opens no session). A session expires `SESSION_TTL_MS` after sign-in and ends at sign-out.
 */
export class Sessions {
  constructor(
    private readonly store: SessionStore,
    private readonly now: () => number = Date.now,
  ) {}

  async create(username: string): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { idHash: hashId(id), username, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + SESSION_TTL_MS };
    await this.store.create({ id_hash: session.idHash, username, csrf_token: session.csrfToken, created_at: session.createdAt, expires_at: session.expiresAt });
    return { id, session };
  }

  /** The live session for a cookie value, or undefined (unknown, malformed or expired). */
  async find(id: string | undefined): Promise<Session | undefined> {
    if (id === undefined || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const row = await this.store.find(hashId(id));
    if (!row) return undefined;
    if (row.expires_at <= this.now()) {
      await this.store.delete(row.id_hash);
      return undefined;
    }
    return { idHash: row.id_hash, username: row.username, csrfToken: row.csrf_token, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  destroy(session: Session): Promise<void> {
    return this.store.delete(session.idHash);
  }
}

/** The SHA-256 (hex) of a cookie's random id: what the tables hold, so that a leaked database opens nothing. */
export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie; absent: a browser-session cookie. */
  maxAge?: number;
  secure: boolean;
  path?: string;
}

/** `HttpOnly; SameSite=Strict; Path=/`, `Secure` when the request came over https. Values must be cookie-safe already. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path ?? '/'}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
