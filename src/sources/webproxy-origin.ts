import { PictorError } from '../errors.ts';
import { decodeAssetPath } from './asset-path.ts';
import { urlObject, type GuardedFetcher } from './http-fetch.ts';
import type { Origin, OriginObject, OriginResult, Validators } from './origin.ts';

/**
 * `webproxy`: the canonical path *is* the percent-encoded absolute origin URL, e.g.
 * `/http%3A%2F%2Fexample.com%2Fa.png` (or its canonical form `/http%3A/example.com/a.png`). It is decoded
 * once (so an origin URL's own escapes, such as `%20`, survive), must be an absolute http(s) URL (else
 * `INVALID_PATH`, 400), and is fetched through the SSRF guard: the host is anybody's choice here.
 *
 * Note: the canonical path collapses repeated slashes, so `http://host/a//b.png` is fetched as
 * `http://host/a/b.png`, and a `.`/`..` segment is refused (400) before it gets here.
 */
export class WebProxyOrigin implements Origin {
  constructor(private readonly fetcher: GuardedFetcher) {}

  /** The origin URL of a canonical path. */
  urlFor(canonicalPath: string): URL {
    const decoded = decodeAssetPath(canonicalPath).slice(1);
    if (!/^https?:/i.test(decoded)) throw invalid(decoded);
    let url: URL;
    try {
      url = new URL(decoded);
    } catch {
      throw invalid(decoded);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw invalid(decoded);
    url.hash = '';
    return url;
  }

  async fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult> {
    return this.fetcher(this.urlFor(canonicalPath), validators);
  }

  /** The URL before any redirect: where the origin would be asked. */
  async objectFor(canonicalPath: string): Promise<OriginObject> {
    return urlObject(this.urlFor(canonicalPath));
  }
}

function invalid(decoded: string): PictorError {
  const shown = decoded.length > 200 ? `${decoded.slice(0, 200)}…` : decoded;
  return new PictorError('INVALID_PATH', `Invalid path: a Web Proxy Source's path must be an absolute, percent-encoded http(s) URL, got "${shown}".`);
}
