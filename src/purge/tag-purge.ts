import { assetScope } from '../cache/freshness.ts';
import { PictorError } from '../errors.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { AssetKey } from '../store/asset-store.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import { storeFault } from '../store/store-errors.ts';
import { newRecord } from './purge-request.ts';
import type { TagPurgeRequest } from './purges.ts';

/**
 * Purge by tag: every asset carrying a tag when the purge is accepted (the Assets API's `tags`, matched
 * exactly), in one Source or in every Source, becomes one purge whose scopes are those assets' `A:` scopes.
 * It is logged and applied like any purge (ledger.ts): one append, one mark per asset, durable and in effect
 * before the API answers, whatever is cached. Derivatives that use a tagged asset as a mark or blend are
 * covered too: each carries the scopes of its sub-images (cache/freshness.ts `scopesCovering`).
 *
 * The assets are resolved when the purge is accepted, not when it completes: a purge names what it purged,
 * and a tag added later does not widen a purge already acknowledged.
 */

/** The assets carrying a tag, at most `limit` (store/asset-store.ts `tagged`). */
export type TaggedAssets = (tag: string, sourceId: string | undefined, limit: number) => Promise<AssetKey[]>;

export interface TagPurge {
  record: PurgeRecord;
  assets: AssetKey[];
  /** What the purge marks: each asset's scope, or the tag's own mark when no asset carries it. */
  scopes: string[];
}

/**
 * A tag purge's own mark, when no asset carries the tag: every purge marks at least one scope in the append
 * that numbers it (store/purge-log.ts), and no cached entry carries this one, so it makes nothing stale.
 */
const TAG_MARK = 'T:';

/**
 * Resolves a tag to its assets and builds the purge. More than `maxAssets` is refused (`--purge-tag-max-assets`):
 * each asset is a mark every node keeps until retention, and a key or path every edge is sent, while a folder or
 * a Source is one mark whatever it holds.
 */
export async function tagPurge(sources: SourceRegistry, tagged: TaggedAssets, request: TagPurgeRequest, maxAssets: number): Promise<TagPurge> {
  const { tag, sourceId } = request;
  if (sourceId !== undefined && !sources.get(sourceId)) {
    throw new PictorError('UNKNOWN_SOURCE', `No Source has the id "${sourceId}".`, { pointer: '/data/attributes/source_id' });
  }
  let assets: AssetKey[];
  try {
    assets = await tagged(tag, sourceId, maxAssets + 1);
  } catch (error) {
    throw storeFault(error) ?? error;
  }
  if (assets.length > maxAssets) throw tooBroad(tag, sourceId, maxAssets);
  const fields = { url: '', sourceId: sourceId ?? '', path: '', match: 'tag', subImage: false, parentSourceId: undefined, requestedBy: request.requestedBy } as const;
  const record: PurgeRecord = { ...newRecord(fields), tag, assets: assets.length };
  const scopes = assets.length > 0 ? assets.map((asset) => assetScope(asset.sourceId, asset.originPath)) : [`${TAG_MARK}${sourceId ?? ''}:${tag}`];
  return { record, assets, scopes };
}

/** The scopes the edges are told to purge: all but a tag purge's own mark, which no response carries. */
export function edgeScopes(scopes: readonly string[]): readonly string[] {
  return scopes.some((scope) => scope.startsWith(TAG_MARK)) ? scopes.filter((scope) => !scope.startsWith(TAG_MARK)) : scopes;
}

function tooBroad(tag: string, sourceId: string | undefined, maxAssets: number): PictorError {
  const where = sourceId === undefined ? '' : ` of the Source ${sourceId}`;
  return new PictorError(
    'BAD_REQUEST',
    `The tag "${tag}" is on more than ${maxAssets} assets${where}, more than one purge by tag covers (--purge-tag-max-assets). ` +
      'Purge their folder instead ("match": "prefix") or their whole Source (POST /api/v1/sources/{id}/purge).',
    { pointer: '/data/attributes/tag' },
  );
}
