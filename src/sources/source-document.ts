import { isIP } from 'node:net';
import path from 'node:path';
import { PictorError } from '../errors.ts';
import { DEFAULT_DEPLOYMENT, normalizeHost, SECRET_FIELDS, type Deployment, type SourceRecord, type SourceType } from '../store/source-record.ts';

/**
 * The Sources resource as imgix's Management API writes and reads it: validation of `attributes` (every
 * problem is a 400 whose pointer names the field), the merge of a `deployment` into the current one, and
 * serialisation (secrets never leave).
 */

export const SOURCE_TYPES: readonly SourceType[] = ['folder', 'webfolder', 'webproxy', 's3', 's3_compatible', 'gcs'];
const TTL_BEHAVIORS = ['respect_origin', 'override_origin', 'enforce_minimum'] as const;

type FieldKind = 'type' | 'labels' | 'hosts' | 'text' | 'nonEmpty' | 'nullableText' | 'ttlBehavior' | 'seconds' | 'params' | 'flag' | 'directory' | 'httpUrl';

interface FieldSpec {
  kind: FieldKind;
  /** The Source types the field belongs to; absent: every type. */
  types?: readonly SourceType[];
  /** An optional field: `null` removes it. */
  optional?: true;
}

const BUCKET_TYPES: readonly SourceType[] = ['s3', 's3_compatible', 'gcs'];

/** Every writable `deployment` field, as declared in `Deployment`. */
const DEPLOYMENT_FIELDS: Record<keyof Deployment, FieldSpec> = {
  type: { kind: 'type' },
  imgix_subdomains: { kind: 'labels' },
  custom_domains: { kind: 'hosts' },
  annotation: { kind: 'text', optional: true },
  cache_ttl_behavior: { kind: 'ttlBehavior' },
  cache_ttl_value: { kind: 'seconds' },
  cache_ttl_error: { kind: 'seconds' },
  default_params: { kind: 'params' },
  image_missing: { kind: 'nullableText' },
  image_missing_append_qs: { kind: 'flag' },
  image_error: { kind: 'nullableText' },
  image_error_append_qs: { kind: 'flag' },
  secure_url_enabled: { kind: 'flag' },
  folder_path: { kind: 'directory', types: ['folder'], optional: true },
  webfolder_base_url: { kind: 'httpUrl', types: ['webfolder'], optional: true },
  s3_bucket: { kind: 'nonEmpty', types: ['s3'], optional: true },
  s3_prefix: { kind: 'text', types: ['s3'], optional: true },
  s3_access_key: { kind: 'nonEmpty', types: ['s3'], optional: true },
  s3_secret_key: { kind: 'nonEmpty', types: ['s3'], optional: true },
  region: { kind: 'nonEmpty', types: BUCKET_TYPES, optional: true },
  bucket_name: { kind: 'nonEmpty', types: ['s3_compatible'], optional: true },
  storage_provider: { kind: 'nonEmpty', types: ['s3_compatible'], optional: true },
  prefix: { kind: 'text', types: ['s3_compatible'], optional: true },
  access_key: { kind: 'nonEmpty', types: ['s3_compatible'], optional: true },
  secret_key: { kind: 'nonEmpty', types: ['s3_compatible'], optional: true },
  gcs_bucket: { kind: 'nonEmpty', types: ['gcs'], optional: true },
  gcs_prefix: { kind: 'text', types: ['gcs'], optional: true },
  gcs_access_key: { kind: 'nonEmpty', types: ['gcs'], optional: true },
  gcs_secret_key: { kind: 'nonEmpty', types: ['gcs'], optional: true },
  endpoint: { kind: 'httpUrl', types: BUCKET_TYPES, optional: true },
  force_path_style: { kind: 'flag', types: BUCKET_TYPES, optional: true },
};

/** The field each type cannot do without. */
export const REQUIRED_FIELDS: Record<SourceType, readonly (keyof Deployment)[]> = {
  folder: ['folder_path'],
  webfolder: ['webfolder_base_url'],
  webproxy: [],
  s3: ['s3_bucket'],
  s3_compatible: ['bucket_name'],
  gcs: ['gcs_bucket'],
};

/** Read-only attributes: clients send back what they read, so these are ignored on write, never refused. */
const READ_ONLY_ATTRIBUTES = new Set(['deployment_status', 'date_deployed', 'secure_url_token']);
/** imgix's read-only `deployment` indicators, and Pictor's `<secret>_set` ones. */
const READ_ONLY_DEPLOYMENT = new Set(['allows_upload', 'request_handshake_set', 'request_signing_key_set', 'password_set', ...SECRET_FIELDS.map((field) => `${field}_set`)]);

/** A `deployment` as written: a subset of fields; `null` removes an optional field. */
export type DeploymentChanges = { [K in keyof Deployment]?: Deployment[K] | null };

export interface SourceChanges {
  name?: string;
  enabled?: boolean;
  /** Present when the attributes carried `deployment`. */
  deployment?: DeploymentChanges;
  /** Pictor's extension on PATCH: purge every derivative of the Source once the change is saved. */
  purgeDerivatives: boolean;
}

export function badRequest(message: string, field?: string): PictorError {
  return new PictorError('BAD_REQUEST', message, { pointer: field === undefined ? '/data/attributes' : `/data/attributes/${field.replace(/\./g, '/')}` });
}

/** Validates the `attributes` of a create (`POST`) or update (`PATCH`); cross-Source rules are the service's. */
export function parseSourceAttributes(raw: unknown, mode: 'create' | 'update'): SourceChanges {
  if (!isPlainObject(raw)) throw badRequest('"data.attributes" must be an object, e.g. {"name": "…", "deployment": {"type": "…"}}.');
  const known = new Set(['name', 'enabled', 'deployment', ...(mode === 'update' ? ['purge_derivatives'] : [])]);
  const unknown = Object.keys(raw).filter((key) => !known.has(key) && !READ_ONLY_ATTRIBUTES.has(key));
  if (isPlainObject(raw.deployment)) {
    unknown.push(
      ...Object.keys(raw.deployment)
        .filter((key) => !Object.hasOwn(DEPLOYMENT_FIELDS, key) && !READ_ONLY_DEPLOYMENT.has(key) && key !== 'crossdomain_xml_enabled')
        .map((key) => `deployment.${key}`),
    );
  }
  if (unknown.length > 0) {
    const hint = mode === 'create' && unknown.includes('purge_derivatives') ? ' ("purge_derivatives" applies to PATCH only)' : '';
    throw badRequest(`Unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')}${hint}.`, unknown[0]);
  }

  const changes: SourceChanges = { purgeDerivatives: false };
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name.trim() === '') throw badRequest(`"name" must be a non-empty string, got ${show(raw.name)}.`, 'name');
    changes.name = raw.name.trim();
  } else if (mode === 'create') {
    throw badRequest('"name" is required.', 'name');
  }
  if (raw.enabled !== undefined) changes.enabled = flag(raw.enabled, 'enabled');
  if (raw.purge_derivatives !== undefined) changes.purgeDerivatives = flag(raw.purge_derivatives, 'purge_derivatives');
  if (raw.deployment !== undefined) {
    if (!isPlainObject(raw.deployment)) throw badRequest(`"deployment" must be an object, got ${show(raw.deployment)}.`, 'deployment');
    changes.deployment = parseDeployment(raw.deployment);
  } else if (mode === 'create') {
    throw badRequest(`"deployment" is required, with at least its "type" (${SOURCE_TYPES.join(', ')}).`, 'deployment');
  }
  return changes;
}

function parseDeployment(raw: Record<string, unknown>): DeploymentChanges {
  const changes: Record<string, unknown> = {};
  if (raw.crossdomain_xml_enabled !== undefined && flag(raw.crossdomain_xml_enabled, 'deployment.crossdomain_xml_enabled')) {
    throw badRequest('Pictor does not serve crossdomain.xml; "crossdomain_xml_enabled" can only be false.', 'deployment.crossdomain_xml_enabled');
  }
  for (const [key, value] of Object.entries(raw)) {
    const spec = Object.hasOwn(DEPLOYMENT_FIELDS, key) ? DEPLOYMENT_FIELDS[key as keyof Deployment] : undefined;
    if (spec === undefined || value === undefined) continue; // read-only indicators are ignored
    changes[key] = value === null && spec.optional ? null : parseField(key, spec.kind, value);
  }
  return changes as DeploymentChanges;
}

function parseField(key: string, kind: FieldKind, value: unknown): unknown {
  const field = `deployment.${key}`;
  switch (kind) {
    case 'type':
      if (typeof value !== 'string' || !(SOURCE_TYPES as readonly string[]).includes(value)) {
        throw badRequest(`"${field}" must be one of ${SOURCE_TYPES.join(', ')}, got ${show(value)}.`, field);
      }
      return value;
    case 'labels':
      return unique(stringList(value, field).map((label) => dnsLabel(label, field)));
    case 'hosts':
      return unique(stringList(value, field).map((host) => hostName(host, field)));
    case 'text':
      if (typeof value !== 'string') throw badRequest(`"${field}" must be a string, got ${show(value)}.`, field);
      return value;
    case 'nonEmpty':
      if (typeof value !== 'string' || value.trim() === '') throw badRequest(`"${field}" must be a non-empty string, got ${show(value)}.`, field);
      return value.trim();
    case 'nullableText':
      if (value !== null && typeof value !== 'string') throw badRequest(`"${field}" must be a string or null, got ${show(value)}.`, field);
      return value;
    case 'ttlBehavior':
      if (typeof value !== 'string' || !(TTL_BEHAVIORS as readonly string[]).includes(value)) {
        throw badRequest(`"${field}" must be one of ${TTL_BEHAVIORS.join(', ')}, got ${show(value)}.`, field);
      }
      return value;
    case 'seconds':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw badRequest(`"${field}" must be a whole number of seconds, 0 or more, got ${show(value)}.`, field);
      }
      return value;
    case 'params':
      return defaultParams(value, field);
    case 'flag':
      return flag(value, field);
    case 'directory':
      return directory(value, field);
    case 'httpUrl':
      return httpUrl(value, field);
  }
}

/**
 * The `deployment` after a write: the current one (or the defaults on create) with the changes applied
 * field by field. A type change drops the old type's own fields and needs the new type's required ones;
 * a field of another type is refused rather than stored unused.
 */
export function mergeDeployment(current: Deployment | undefined, changes: DeploymentChanges): Deployment {
  const type = changes.type ?? current?.type;
  if (type === undefined || type === null) throw badRequest(`"deployment.type" is required: one of ${SOURCE_TYPES.join(', ')}.`, 'deployment.type');
  for (const [key, value] of Object.entries(changes)) {
    const types = DEPLOYMENT_FIELDS[key as keyof Deployment].types;
    if (value !== null && types !== undefined && !types.includes(type)) {
      throw badRequest(`"deployment.${key}" does not apply to a ${type} Source (it belongs to ${types.join(', ')}).`, `deployment.${key}`);
    }
  }
  const merged: Record<string, unknown> = { type, ...(current ?? structuredClone(DEFAULT_DEPLOYMENT)) };
  for (const key of Object.keys(merged)) {
    const types = DEPLOYMENT_FIELDS[key as keyof Deployment]?.types;
    if (types !== undefined && !types.includes(type)) delete merged[key];
  }
  merged.type = type;
  for (const [key, value] of Object.entries(changes)) {
    if (value === null && DEPLOYMENT_FIELDS[key as keyof Deployment].optional) delete merged[key];
    else merged[key] = value;
  }
  const deployment = merged as unknown as Deployment;
  // Web Proxy URLs carry whole origin URLs: imgix makes signing mandatory there, and so does Pictor.
  if (type === 'webproxy') deployment.secure_url_enabled = true;
  for (const field of REQUIRED_FIELDS[type]) {
    const value = deployment[field];
    if (value === undefined || value === '') {
      const changed = current !== undefined && current.type !== type ? ' (changing the type needs the new type\'s fields)' : '';
      throw badRequest(`"deployment.${field}" is required for a ${type} Source${changed}.`, `deployment.${field}`);
    }
  }
  return deployment;
}

const UPLOAD_TYPES: ReadonlySet<SourceType> = new Set(['folder', 's3', 's3_compatible', 'gcs']);

/** The resource object of a Source: secrets removed (a `<secret>_set` flag says whether one is stored). */
export function sourceResource(record: SourceRecord, fields?: readonly string[]): { id: string; type: 'sources'; attributes: Record<string, unknown> } {
  const deployment: Record<string, unknown> = { ...record.deployment };
  for (const secret of SECRET_FIELDS) {
    delete deployment[secret];
    if (DEPLOYMENT_FIELDS[secret].types?.includes(record.deployment.type)) deployment[`${secret}_set`] = Boolean(record.deployment[secret]);
  }
  // Whether the Assets API's uploads reach this Source: those whose origin can write (folder-origin.ts, s3-origin.ts).
  deployment.allows_upload = UPLOAD_TYPES.has(record.deployment.type);
  const attributes: Record<string, unknown> = {
    name: record.name,
    enabled: record.enabled,
    deployment_status: record.enabled ? 'deployed' : 'disabled',
    date_deployed: record.dateDeployed,
  };
  if (record.deployment.secure_url_enabled && record.secureUrlToken !== undefined) attributes.secure_url_token = record.secureUrlToken;
  attributes.deployment = deployment;
  return { id: record.id, type: 'sources', attributes: fields ? pickFields(attributes, fields) : attributes };
}

/** Names a sparse fieldset may use: the attributes, and `deployment.<field>` for every readable field. */
export function isReadableField(name: string): boolean | 'secret' {
  if (['name', 'enabled', 'deployment_status', 'date_deployed', 'secure_url_token', 'deployment'].includes(name)) return true;
  if (!name.startsWith('deployment.')) return false;
  const field = name.slice('deployment.'.length);
  if ((SECRET_FIELDS as readonly string[]).includes(field)) return 'secret';
  return Object.hasOwn(DEPLOYMENT_FIELDS, field) || READ_ONLY_DEPLOYMENT.has(field);
}

/** `['name', 'deployment.default_params']` → `{ name, deployment: { default_params } }` (absent fields stay absent). */
function pickFields(attributes: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  const deployment = attributes.deployment as Record<string, unknown>;
  for (const field of fields) {
    if (field === 'deployment') {
      picked.deployment = { ...deployment, ...(picked.deployment as Record<string, unknown> | undefined) };
    } else if (field.startsWith('deployment.')) {
      const key = field.slice('deployment.'.length);
      if (key in deployment) picked.deployment = { ...(picked.deployment as Record<string, unknown> | undefined), [key]: deployment[key] };
    } else if (field in attributes) {
      picked[field] = attributes[field];
    }
  }
  return picked;
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw badRequest(`"${field}" must be true or false, got ${show(value)}.`, field);
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw badRequest(`"${field}" must be an array of strings, got ${show(value)}.`, field);
  }
  return value as string[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function dnsLabel(raw: string, field: string): string {
  const label = raw.trim().toLowerCase();
  if (!LABEL.test(label)) {
    throw badRequest(`"${field}" holds DNS labels (letters, digits and inner hyphens, no dots, at most 63 characters), got ${show(raw)}.`, field);
  }
  return label;
}

/** A host name or IP (IPv6 in brackets), normalised like a Host header: lowercase, no port, no trailing dot. */
function hostName(raw: string, field: string): string {
  const trimmed = raw.trim();
  const shape = /^(\[[0-9a-fA-F:.]+\]|[^[\]:\s/@?#*]+)(:\d{1,5})?$/.exec(trimmed);
  const host = normalizeHost(trimmed);
  const ipv6 = host.startsWith('[') && isIP(host.slice(1, -1)) === 6;
  const valid = shape !== null && (ipv6 || isIP(host) === 4 || DOMAIN.test(host));
  if (!valid) throw badRequest(`"${field}" holds host names such as images.example.com (no scheme, path or wildcard), got ${show(raw)}.`, field);
  return host;
}

function defaultParams(value: unknown, field: string): Record<string, string> {
  if (!isPlainObject(value)) throw badRequest(`"${field}" must be an object of imgix parameters, e.g. {"auto": "format"}, got ${show(value)}.`, field);
  for (const [name, param] of Object.entries(value)) {
    if (name === '' || typeof param !== 'string') {
      throw badRequest(`"${field}" values must be strings, e.g. {"w": "400"}; "${name}" is ${show(param)}.`, field);
    }
  }
  return { ...(value as Record<string, string>) };
}

/** An absolute path; whether it exists and lies inside a folder root is the service's to check (folder-roots.ts). */
function directory(value: unknown, field: string): string {
  if (typeof value !== 'string' || !path.isAbsolute(value)) throw badRequest(`"${field}" must be an absolute directory path, got ${show(value)}.`, field);
  return path.resolve(value);
}

function httpUrl(value: unknown, field: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw badRequest(`"${field}" must be an absolute http(s) URL, got ${show(value)}.`, field);
  }
  return value as string;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
