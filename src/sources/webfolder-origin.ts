import { PictorError } from '../errors.ts';
import { canonicalPath as toCanonicalPath } from './asset-path.ts';
import { urlObject, type GuardedFetcher } from './http-fetch.ts';
import type { Origin, OriginObject, OriginResult, Validators } from './origin.ts';

/**
 * `webfolder`: the canonical path appended to `webfolder_base_url`, with exactly one slash between them.
 * The canonical path is already percent-encoded (js-core rules: `?`, `#`, `:`, `+` escaped) and has no
 * `.`/`..` segment, so the URL never leaves the base URL's path and never gains a query or a fragment.
 * Fetched through the guarded fetcher: the base URL's host is checked like any other outbound destination.
 */
export class WebFolderOrigin implements Origin {
  private readonly prefix: string;
  private readonly search: string;

  constructor(
    baseUrl: string,
    private readonly fetcher: GuardedFetcher,
  ) {
    let base: URL;
    try {
      base = new URL(baseUrl);
    } catch {
      throw new PictorError('ORIGIN_UNAVAILABLE', `The Source's webfolder_base_url "${baseUrl}" is not an absolute URL.`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new PictorError('ORIGIN_UNAVAILABLE', `The Source's webfolder_base_url must be an http or https URL, got "${baseUrl}".`);
    }
    this.prefix = `${base.origin}${base.pathname.replace(/\/+$/, '')}/`;
    this.search = base.search;
  }

  /** The origin URL of a canonical path. */
  urlFor(canonicalPath: string): URL {
    // Idempotent on a canonical path; re-applied so that a non-canonical caller cannot add `..` or a query.
    const path = toCanonicalPath(canonicalPath);
    return new URL(`${this.prefix}${path.slice(1)}${this.search}`);
  }

  async fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult> {
    return this.fetcher(this.urlFor(canonicalPath), validators);
  }

  /** The URL before any redirect: where the origin would be asked. */
  async objectFor(canonicalPath: string): Promise<OriginObject> {
    return urlObject(this.urlFor(canonicalPath));
  }
}
