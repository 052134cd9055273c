import { randomUUID } from 'node:crypto';
import { assetScope, prefixScope, sourceScope } from '../cache/freshness.ts';
import { PictorError } from '../errors.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import type { PurgeRequest } from './purges.ts';

/**
 * Longer purge URLs are refused: every purge is stored for the retention window, so its size must be
 * bounded. Any URL an imgix SDK builds fits (the query, ignored by a purge, is where URLs get long).
 * Takedown URLs have the same bound.
 */
export const MAX_PURGE_URL_LENGTH = 8192;

/** Turns an API request into a purge record: the URL resolved to a Source and a canonical path. */
export function purgeRecord(sources: SourceRegistry, request: PurgeRequest): PurgeRecord {
  const { sourceId, path } = resolve(sources, request);
  const match = request.match ?? 'exact';
  return newRecord({
    url: request.url,
    sourceId,
    path: match === 'prefix' ? folderOf(path) : path,
    match,
    subImage: request.subImage ?? false,
    parentSourceId: request.subImage ? request.sourceId : undefined,
    requestedBy: request.requestedBy,
  });
}

/**
 * An exact purge of one asset by Source and canonical path. Its URL, for people reading the purge list, is on
 * the Source's first custom domain when it has one, else the path alone.
 */
export function assetPurgeRecord(sources: SourceRegistry, sourceId: string, path: string, requestedBy: string | undefined): PurgeRecord {
  const source = sources.get(sourceId);
  if (!source) throw new PictorError('NOT_FOUND', `No Source has the id "${sourceId}".`);
  const domain = source.record.deployment.custom_domains[0];
  const url = domain === undefined ? path : `http://${domain}${path}`;
  return newRecord({ url, sourceId, path, match: 'exact', subImage: false, parentSourceId: undefined, requestedBy });
}

/** A whole-Source purge record. */
export function sourcePurgeRecord(sources: SourceRegistry, sourceId: string, requestedBy: string | undefined): PurgeRecord {
  if (!sources.get(sourceId)) throw new PictorError('NOT_FOUND', `No Source has the id "${sourceId}".`);
  return newRecord({ url: '', sourceId, path: '', match: 'source', subImage: false, parentSourceId: undefined, requestedBy });
}

/** The freshness scope a purge marks (see cache/freshness.ts). */
export function scopeOf(record: Pick<PurgeRecord, 'match' | 'sourceId' | 'path'>): string {
  switch (record.match) {
    case 'source':
      return sourceScope(record.sourceId);
    case 'prefix':
      return prefixScope(record.sourceId, record.path);
    default:
      return assetScope(record.sourceId, record.path);
  }
}

function resolve(sources: SourceRegistry, request: PurgeRequest): { sourceId: string; path: string } {
  const url = parseUrl(request.url);
  if (request.subImage && request.sourceId === undefined) {
    throw new PictorError('BAD_REQUEST', 'A sub-image purge needs "source_id": the id of the Source whose images use the sub-image.', {
      pointer: '/data/attributes/source_id',
    });
  }
  if (request.sourceId !== undefined && !sources.get(request.sourceId)) {
    throw new PictorError('UNKNOWN_SOURCE', `No Source has the id "${request.sourceId}".`, { pointer: '/data/attributes/source_id' });
  }
  return assetOf(sources, url, 'purge');
}

/**
 * The asset a URL names, exactly as a purge resolves it: its host → Source, its path → canonical path (the
 * query and fragment are ignored). Takedowns resolve their URLs with it too, so both name the same asset.
 */
export function resolveAssetUrl(sources: SourceRegistry, raw: string, verb: string): { sourceId: string; path: string } {
  return assetOf(sources, parseUrl(raw), verb);
}

function assetOf(sources: SourceRegistry, url: URL, verb: string): { sourceId: string; path: string } {
  const source = sources.forDomain(url.host);
  if (!source) {
    throw new PictorError('UNKNOWN_HOST', `The host "${url.host}" is not a domain of any Source; ${verb} the URL your images are served from.`, {
      pointer: '/data/attributes/url',
    });
  }
  try {
    return { sourceId: source.record.id, path: canonicalPath(url.pathname) };
  } catch (error) {
    throw new PictorError('BAD_REQUEST', (error as Error).message, { pointer: '/data/attributes/url' });
  }
}

/**
 * The query and fragment are ignored (a purge names the asset, which purges every derivative). WHATWG URL
 * parsing already turns a raw space into %20, as the purge contract asks.
 */
function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PictorError('BAD_REQUEST', `"url" must be an absolute http(s) URL, got "${raw}".`, { pointer: '/data/attributes/url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PictorError('BAD_REQUEST', `"url" must be an http or https URL, got "${raw}".`, { pointer: '/data/attributes/url' });
  }
  return url;
}

export function newRecord(fields: Pick<PurgeRecord, 'url' | 'sourceId' | 'path' | 'match' | 'subImage' | 'parentSourceId' | 'requestedBy'>): PurgeRecord {
  return {
    ...fields,
    id: randomUUID(),
    status: 'pending',
    origin: undefined,
    matched: undefined,
    generation: undefined,
    error: undefined,
    createdAt: Date.now(),
    completedAt: undefined,
  };
}

/** A prefix purge covers a folder and everything below it: `/photos/2024` means `/photos/2024/`. */
function folderOf(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}
