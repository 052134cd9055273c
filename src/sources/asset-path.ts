import { PictorError } from '../errors.ts';

/**
 * The canonical form of an asset path, shared by renders and purges so that both name an asset the same way:
 * percent-decode exactly once (a `+` stays a plus sign, never a space), refuse what could escape a root or
 * confuse a file system (`.`/`..` segments, NUL, malformed escapes), collapse repeated slashes, then
 * re-encode with @imgix/js-core's rules (encodeURI, plus `#?:+` escaped) and uppercase hex.
 * So `/a b.jpg`, `/a%20b.jpg` and `/a%20b.jpg?w=10` are one asset; `/a+b.jpg` and `/a%2Bb.jpg` another.
 */
export function canonicalPath(rawPath: string): string {
  return encodeAssetPath(decodeAssetPath(rawPath));
}

/** The decoded path (`/dir/a b.jpg`), validated; use it to reach a file, never to name a cache entry. */
export function decodeAssetPath(rawPath: string): string {
  if (!rawPath.startsWith('/')) throw invalid(`the path must start with "/", got "${rawPath}"`);
  const decoded = percentDecode(rawPath);
  if (decoded.includes('\0')) throw invalid('the path contains a NUL byte');
  const segments = decoded.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (segment === '..' || segment === '.') throw invalid('the path contains a "." or ".." segment');
  }
  return `/${segments.join('/')}`;
}

export function encodeAssetPath(decodedPath: string): string {
  return encodeURI(decodedPath).replace(/[#?:+]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function percentDecode(raw: string): string {
  if (!raw.includes('%')) return raw;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [token] of raw.matchAll(/(?:%[0-9A-Fa-f]{2})+|%[^%]{0,2}|[^%]+/g)) {
    if (!token.startsWith('%')) parts.push(encoder.encode(token));
    else if (/^(?:%[0-9A-Fa-f]{2})+$/.test(token)) parts.push(Uint8Array.from(token.slice(1).split('%'), (hex) => parseInt(hex, 16)));
    else throw invalid(`malformed percent-escape "${token}" in the path`);
  }
  try {
    return utf8.decode(Buffer.concat(parts));
  } catch {
    throw invalid('the path is not valid UTF-8 once percent-decoded');
  }
}

function invalid(message: string): PictorError {
  return new PictorError('INVALID_PATH', `Invalid path: ${message}.`);
}
