import { createHash } from 'node:crypto';

/**
 * Where an asset's cached files live on disk: one directory per asset, holding its master and every
 * derivative and negative entry, so one rename drops them all. Hashing keeps names short and safe.
 */
export function assetGroup(sourceId: string, canonicalPath: string): string {
  const hash = createHash('sha256').update(canonicalPath).digest('hex').slice(0, 32);
  return `${sourceId}/${hash.slice(0, 2)}/${hash}`;
}

export function entryName(cacheKey: string): string {
  return createHash('sha256').update(cacheKey).digest('hex').slice(0, 40);
}
