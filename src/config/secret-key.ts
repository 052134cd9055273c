/**
 * How a key that encrypts Source secrets at rest is written (`PICTOR_SECRET_KEY`, the key file): the settings
 * validate the environment's keys with it at start, and store/secret-keys.ts reads the key file with it.
 */

export const KEY_BYTES = 32;

/** A 32-byte key written as 64 hex digits or as base64 (standard or URL-safe); undefined when it is neither. */
export function decodeSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}
