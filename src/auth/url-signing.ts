import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * imgix secure URLs: `s` = lowercase hex MD5 of token + encoded path + (`?` + query without `s`, when there
 * is one). The host is not signed. Verification works on the raw request target exactly as the client
 * sent it — never re-encoded or reordered — and compares in constant time.
 */
export function sign(token: string, encodedPath: string, encodedQuery = ''): string {
  return createHash('md5')
    .update(token + encodedPath + (encodedQuery ? `?${encodedQuery}` : ''), 'utf8')
    .digest('hex');
}

export type SignatureCheck = 'valid' | 'missing' | 'invalid';

export function verifySignature(token: string, rawPath: string, rawQuery: string): SignatureCheck {
  const { signature, rest } = splitSignature(rawQuery);
  if (signature === undefined) return 'missing';
  const expected = Buffer.from(sign(token, rawPath, rest), 'hex');
  const given = /^[0-9a-fA-F]{32}$/.test(signature) ? Buffer.from(signature.toLowerCase(), 'hex') : undefined;
  return given !== undefined && timingSafeEqual(expected, given) ? 'valid' : 'invalid';
}

/** Takes the `s` parameter out of a raw query (imgix puts it last), keeping everything else as sent. */
function splitSignature(rawQuery: string): { signature: string | undefined; rest: string } {
  if (rawQuery === '') return { signature: undefined, rest: '' };
  const pairs = rawQuery.split('&');
  const index = pairs.findIndex((pair) => pair.startsWith('s='));
  if (index === -1) return { signature: undefined, rest: rawQuery };
  const signature = pairs[index]!.slice(2);
  pairs.splice(index, 1);
  return { signature, rest: pairs.join('&') };
}
