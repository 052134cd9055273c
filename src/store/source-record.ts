/**
 * A Source as it is stored, and the terms its lists are asked for in (store/stores.ts `SourceListing`): the
 * domain (sources/) reads and writes Sources in these terms.
 */

/** A Source as imgix's Management API describes it; `folder` is Pictor's own type for a local directory. */
export type SourceType = 'folder' | 'webfolder' | 'webproxy' | 's3' | 's3_compatible' | 'gcs';
export type CacheTtlBehavior = 'respect_origin' | 'override_origin' | 'enforce_minimum';

export interface Deployment {
  type: SourceType;
  imgix_subdomains: string[];
  custom_domains: string[];
  annotation?: string;
  cache_ttl_behavior: CacheTtlBehavior;
  /** Seconds. */
  cache_ttl_value: number;
  /** Seconds, for error responses. */
  cache_ttl_error: number;
  default_params: Record<string, string>;
  image_missing: string | null;
  image_missing_append_qs: boolean;
  image_error: string | null;
  image_error_append_qs: boolean;
  secure_url_enabled: boolean;
  /** `folder` only: the directory served. */
  folder_path?: string;
  /** `webfolder`: the origin URL that paths are appended to, e.g. `https://my-domain.com/images/`. */
  webfolder_base_url?: string;
  /** `s3`. */
  s3_bucket?: string;
  s3_prefix?: string;
  s3_access_key?: string;
  s3_secret_key?: string;
  /** `s3`, `s3_compatible`, `gcs`. */
  region?: string;
  /** `s3_compatible`. */
  bucket_name?: string;
  storage_provider?: string;
  prefix?: string;
  access_key?: string;
  secret_key?: string;
  /** `gcs` (HMAC keys, through the S3-interoperable XML API). */
  gcs_bucket?: string;
  gcs_prefix?: string;
  gcs_access_key?: string;
  gcs_secret_key?: string;
  /** Pictor's additions for `s3`, `s3_compatible`, `gcs`: any S3-compatible endpoint, and path-style addressing. */
  endpoint?: string;
  force_path_style?: boolean;
}

/** Deployment fields that are write-only: accepted on create and update, never returned. */
export const SECRET_FIELDS = ['s3_secret_key', 'secret_key', 'gcs_secret_key'] as const;

export interface SourceRecord {
  id: string;
  name: string;
  enabled: boolean;
  deployment: Deployment;
  secureUrlToken: string | undefined;
  dateDeployed: number;
}

export const DEFAULT_DEPLOYMENT: Omit<Deployment, 'type'> = {
  imgix_subdomains: [],
  custom_domains: [],
  cache_ttl_behavior: 'respect_origin',
  cache_ttl_value: 31_536_000,
  cache_ttl_error: 300,
  default_params: {},
  image_missing: null,
  image_missing_append_qs: false,
  image_error: null,
  image_error_append_qs: false,
  secure_url_enabled: false,
};

const nameCollator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** The order of Source names in lists: case- and accent-insensitive, numbers by value (`Source 9` before `Source 10`). */
export function compareSourceNames(a: string, b: string): number {
  return nameCollator.compare(a, b);
}

/** Host names compare case-insensitively, without a port or a trailing dot; IPv6 keeps its brackets. */
export function normalizeHost(hostHeader: string): string {
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export interface SourceFilter {
  field: FilterField;
  value: string;
}

export interface SortKey {
  field: SortField;
  descending: boolean;
}

/** imgix's filterable fields (`azure_bucket` matches nothing: Pictor has no Azure type), and Pictor's `folder_path`. */
export const FILTER_FIELDS = [
  'name',
  'enabled',
  'deployment.type',
  'deployment.custom_domains',
  'deployment.imgix_subdomains',
  'deployment.azure_bucket',
  'deployment.bucket_name',
  'deployment.gcs_bucket',
  'deployment.region',
  'deployment.s3_bucket',
  'deployment.storage_provider',
  'deployment.webfolder_base_url',
  'deployment.folder_path',
] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

export const SORT_FIELDS = ['name', 'date_deployed', 'enabled'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
