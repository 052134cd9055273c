import { PictorError } from '../errors.ts';
import { FolderOrigin } from './folder-origin.ts';
import { createGuardedFetcher, type GuardedFetcher } from './http-fetch.ts';
import type { SourceRecord } from '../store/source-record.ts';
import type { Origin } from './origin.ts';
import { S3Origin } from './s3-origin.ts';
import { WebFolderOrigin } from './webfolder-origin.ts';
import { WebProxyOrigin } from './webproxy-origin.ts';

export { createGuardedFetcher, type GuardedFetcher, type GuardedFetcherOptions } from './http-fetch.ts';
export { AddressPolicy, classifyAddress, OutboundGuard } from './outbound-guard.ts';

export interface OriginDeps {
  /** Largest origin file, in bytes (`--max-input-bytes`). */
  maxInputBytes: number;
  /** IPs and CIDRs that fetches of every remote type may reach although private (`--outbound-allow`). */
  outboundAllow: string[];
  /** Bound of one origin fetch, in seconds (`--origin-timeout`). */
  timeoutSeconds: number;
  /** Directory of a `folder` Source without `folder_path` (the default Source's `--assets`). */
  assetsDir?: string;
  /** Real paths a `folder` Source's folder must lie inside (`--folder-root`, and the assets directory). */
  folderRoots: readonly string[];
}

export const GCS_ENDPOINT = 'https://storage.googleapis.com';

/**
 * The Origin of a Source. Throws a PictorError (`ORIGIN_UNAVAILABLE`) naming the field when the Source is
 * misconfigured (no base URL, no bucket) or of a type this version does not serve, and
 * `FOLDER_OUTSIDE_ROOTS` for a folder outside the folder roots. Every remote type fetches through the
 * outbound guard (outbound-guard.ts) with `outboundAllow`.
 */
export function createOrigin(record: SourceRecord, deps: OriginDeps): Origin {
  const d = record.deployment;
  const http = (): GuardedFetcher =>
    createGuardedFetcher({ outboundAllow: deps.outboundAllow, timeoutSeconds: deps.timeoutSeconds, maxBytes: deps.maxInputBytes });
  const s3Common = {
    endpoint: d.endpoint,
    forcePathStyle: d.force_path_style,
    maxBytes: deps.maxInputBytes,
    timeoutSeconds: deps.timeoutSeconds,
    outboundAllow: deps.outboundAllow,
  };
  switch (d.type) {
    case 'folder': {
      const root = d.folder_path ?? deps.assetsDir;
      if (root === undefined) throw misconfigured(record, 'folder_path');
      return new FolderOrigin(root, deps.maxInputBytes, deps.folderRoots);
    }
    case 'webfolder':
      if (!d.webfolder_base_url) throw misconfigured(record, 'webfolder_base_url');
      return new WebFolderOrigin(d.webfolder_base_url, http());
    case 'webproxy':
      return new WebProxyOrigin(http());
    case 's3':
      if (!d.s3_bucket) throw misconfigured(record, 's3_bucket');
      return new S3Origin({
        ...s3Common,
        bucket: d.s3_bucket,
        prefix: d.s3_prefix,
        accessKeyId: d.s3_access_key,
        secretAccessKey: d.s3_secret_key,
        region: d.region,
      });
    case 's3_compatible': {
      if (!d.bucket_name) throw misconfigured(record, 'bucket_name');
      const endpoint = d.endpoint || providerEndpoint(d.storage_provider, d.region);
      if (!endpoint) throw misconfigured(record, 'endpoint');
      return new S3Origin({
        ...s3Common,
        endpoint,
        bucket: d.bucket_name,
        prefix: d.prefix,
        accessKeyId: d.access_key,
        secretAccessKey: d.secret_key,
        region: d.region || 'auto',
      });
    }
    case 'gcs':
      if (!d.gcs_bucket) throw misconfigured(record, 'gcs_bucket');
      return new S3Origin({
        ...s3Common,
        endpoint: d.endpoint || GCS_ENDPOINT,
        bucket: d.gcs_bucket,
        prefix: d.gcs_prefix,
        accessKeyId: d.gcs_access_key,
        secretAccessKey: d.gcs_secret_key,
        region: d.region || 'auto',
      });
    default:
      throw new PictorError('ORIGIN_UNAVAILABLE', `Source ${record.id} has the type "${String((d as { type: unknown }).type)}", which this version of Pictor does not serve.`);
  }
}

/**
 * The endpoint of a well-known S3-compatible provider whose URL follows from the region alone. Others
 * (Cloudflare R2 needs an account id, MinIO is self-hosted) need `endpoint`.
 */
function providerEndpoint(provider: string | undefined, region: string | undefined): string | undefined {
  if (!provider || !region) return undefined;
  switch (provider.toLowerCase()) {
    case 'digitalocean':
      return `https://${region}.digitaloceanspaces.com`;
    case 'wasabi':
      return `https://s3.${region}.wasabisys.com`;
    case 'linode':
    case 'akamai':
      return `https://${region}.linodeobjects.com`;
    case 'backblaze':
      return `https://s3.${region}.backblazeb2.com`;
    default:
      return undefined;
  }
}

function misconfigured(record: SourceRecord, field: string): PictorError {
  return new PictorError('ORIGIN_UNAVAILABLE', `Source ${record.id} (${record.deployment.type}) is misconfigured: "${field}" is missing.`);
}
