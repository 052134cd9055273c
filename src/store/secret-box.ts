import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { decodeSecretKey, KEY_BYTES } from '../config/secret-key.ts';

export { decodeSecretKey, KEY_BYTES };

/**
 * Secrets at rest: AES-256-GCM with a random 96-bit IV per value. A stored value reads
 * `enc:v1:<key id>:<iv>:<ciphertext + tag>` (base64url), so a reader knows the format version and which key
 * sealed it, and keys can be rotated. The key id is derived from the key (HMAC-SHA256, 64 bits), so keys
 * from the environment and from the key file are named alike and the id reveals nothing about the key.
 * Each value is bound to where it is stored (`context`, e.g. `<source id>/secret_key`): a value copied into
 * another row or field does not decrypt.
 */

/** A key that is missing, malformed or wrong, or a value that does not decrypt: stops a start with this message. */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newSecretKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('pictor secret key id').digest('hex').slice(0, 16);
}

/** The key id a stored value was sealed with; undefined for a value stored in plain text (before encryption existed). */
export function sealedKeyId(stored: string): string | undefined {
  if (!stored.startsWith(PREFIX)) return undefined;
  return stored.slice(PREFIX.length).split(':')[0];
}

export interface KeyRingSource {
  keys: Buffer[];
  /** Where the keys come from, for messages: `PICTOR_SECRET_KEY` or the key file's path. */
  origin: string;
  /** Reads the keys again (the key file after a rotation); absent when they cannot change while running. */
  reload?: () => Buffer[];
}

/** Seals and opens secrets with a ring of keys: the first seals, every one opens. */
export class SecretBox {
  private keys = new Map<string, Buffer>();
  private current = '';
  /** Unknown key ids already looked for in a reload: the key file is read again once per id, not per read. */
  private readonly soughtIds = new Set<string>();

  constructor(private readonly source: KeyRingSource) {
    this.use(source.keys);
  }

  /** The id of the key that seals. */
  get currentKeyId(): string {
    return this.current;
  }

  get origin(): string {
    return this.source.origin;
  }

  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current)!, iv);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${this.current}:${iv.toString('base64url')}:${sealed.toString('base64url')}`;
  }

  /** The plaintext of a sealed value; throws SecretKeyError for an unknown key or a value that does not decrypt. */
  open(stored: string, context: string): string {
    const [id, ivText, sealedText, extra] = stored.slice(PREFIX.length).split(':');
    const iv = Buffer.from(ivText ?? '', 'base64url');
    const sealed = Buffer.from(sealedText ?? '', 'base64url');
    if (!stored.startsWith(PREFIX) || !id || extra !== undefined || iv.length !== IV_BYTES || sealed.length < TAG_BYTES) {
      throw new SecretKeyError(`The secret ${context} is not a value Pictor sealed (enc:v1:…); the database was edited by hand or is damaged.`);
    }
    const key = this.keyFor(id);
    if (key === undefined) {
      throw new SecretKeyError(
        `The secret ${context} is encrypted with the key ${id}, which is not among the keys of ${this.source.origin}. ` +
          'Give Pictor the key it was encrypted with (see docs/security.md, Secrets).',
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(`The secret ${context} does not decrypt with the key ${id}: the stored value was altered.`);
    }
  }

  private keyFor(id: string): Buffer | undefined {
    const known = this.keys.get(id);
    if (known !== undefined || this.source.reload === undefined || this.soughtIds.has(id)) return known;
    // A rotation by another process (`pictor secrets rotate`) put a new key first in the key file.
    this.soughtIds.add(id);
    this.use(this.source.reload());
    return this.keys.get(id);
  }

  private use(keys: Buffer[]): void {
    if (keys.length === 0) throw new SecretKeyError(`${this.source.origin} holds no key.`);
    this.keys = new Map(keys.map((key) => [keyId(key), key]));
    this.current = keyId(keys[0]!);
  }
}
