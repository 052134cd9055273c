import { createHmac, randomBytes } from 'node:crypto';
import { PictorError } from '../errors.ts';

/**
 * Standard Webhooks signing (standardwebhooks.com): a secret is `whsec_<base64>`, and its decoded bytes are
 * the HMAC-SHA256 key; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`.
 *
 * Security invariant: a secret has at least 24 random bytes (Pictor generates 32), so a receiver that checks
 * the signature knows the body came from this Pictor, and with the timestamp, that it is not an old replay.
 */
const PREFIX = 'whsec_';
const MIN_BYTES = 24;
const MAX_BYTES = 64;
const GENERATED_BYTES = 32;

export function generateSecret(): string {
  return `${PREFIX}${randomBytes(GENERATED_BYTES).toString('base64')}`;
}

/** The secret as given, checked: `whsec_` and the base64 of 24 to 64 bytes. */
export function checkSecret(value: unknown): string {
  const problem = (why: string): PictorError =>
    new PictorError('BAD_REQUEST', `"secret" ${why}: it must be "whsec_" followed by the base64 of ${MIN_BYTES} to ${MAX_BYTES} random bytes.`, {
      pointer: '/data/attributes/secret',
    });
  if (typeof value !== 'string') throw problem('is not a string');
  if (!value.startsWith(PREFIX)) throw problem('does not start with "whsec_"');
  const encoded = value.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw problem('is not base64 after "whsec_"');
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_BYTES || bytes > MAX_BYTES) throw problem(`decodes to ${bytes} bytes`);
  return value;
}

/** The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}
