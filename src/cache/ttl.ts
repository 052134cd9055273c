import type { Deployment } from '../store/source-record.ts';

/**
 * How long a master (and what is rendered from it) stays fresh, from the Source's TTL settings:
 * `respect_origin` uses the origin's max-age when it sends one, else `cache_ttl_value` (one year by default);
 * `override_origin` always uses `cache_ttl_value`; `enforce_minimum` uses the larger of the two.
 */
export function originTtlSeconds(deployment: Deployment, originCacheControl: string | undefined): number {
  const configured = deployment.cache_ttl_value;
  const fromOrigin = maxAge(originCacheControl);
  switch (deployment.cache_ttl_behavior) {
    case 'override_origin':
      return configured;
    case 'enforce_minimum':
      return Math.max(configured, fromOrigin ?? 0);
    default:
      return fromOrigin ?? configured;
  }
}

function maxAge(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  if (/(?:^|,)\s*(?:no-store|no-cache|private)\s*(?:,|$)/i.test(cacheControl)) return 0;
  const match = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  return match ? Number(match[1]) : undefined;
}
