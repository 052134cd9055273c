import { SECRET_FIELDS, type Deployment, type SourceRecord, type SourceType } from '../store/source-record.ts';

/**
 * The Source form ↔ the Sources API's attributes. The form has one input per writable field; the
 * attributes it produces go to `SourceService.create/update`, which validates them exactly as for the API,
 * and the pointers of its errors (`/data/attributes/deployment/<field>`) name the form field to show them by.
 */

export type SecretField = (typeof SECRET_FIELDS)[number];

/** Fields of each type, in the order the form shows them. */
export const TYPE_FIELDS: Record<SourceType, readonly (keyof Deployment)[]> = {
  folder: ['folder_path'],
  webfolder: ['webfolder_base_url'],
  webproxy: [],
  s3: ['s3_bucket', 's3_prefix', 's3_access_key', 's3_secret_key', 'region', 'endpoint', 'force_path_style'],
  s3_compatible: ['bucket_name', 'storage_provider', 'prefix', 'access_key', 'secret_key', 'region', 'endpoint', 'force_path_style'],
  gcs: ['gcs_bucket', 'gcs_prefix', 'gcs_access_key', 'gcs_secret_key', 'region', 'endpoint', 'force_path_style'],
};

export const TYPE_LABELS: Record<SourceType, string> = {
  folder: 'Folder (a directory on this server)',
  webfolder: 'Web Folder',
  webproxy: 'Web Proxy',
  s3: 'Amazon S3',
  s3_compatible: 'S3 Compatible',
  gcs: 'Google Cloud Storage',
};

const TEXT_FIELDS = ['annotation', 'image_missing', 'image_error'] as const;
const FLAG_FIELDS = ['image_missing_append_qs', 'image_error_append_qs', 'secure_url_enabled'] as const;

/** What the form shows: text for every input (lists one per line, parameters one `name=value` a line), booleans for checkboxes. */
export interface SourceFormValues {
  name: string;
  enabled: boolean;
  type: SourceType;
  fields: Record<string, string>;
  flags: Record<string, boolean>;
  /** Which secrets are stored (their values never come back). */
  secretsSet: Partial<Record<SecretField, boolean>>;
}

export function emptyFormValues(): SourceFormValues {
  return {
    name: '',
    enabled: true,
    type: 'folder',
    fields: { cache_ttl_behavior: 'respect_origin', cache_ttl_value: '31536000', cache_ttl_error: '300' },
    flags: {},
    secretsSet: {},
  };
}

export function recordToFormValues(record: SourceRecord): SourceFormValues {
  const d = record.deployment;
  const fields: Record<string, string> = {
    custom_domains: d.custom_domains.join('\n'),
    imgix_subdomains: d.imgix_subdomains.join('\n'),
    cache_ttl_behavior: d.cache_ttl_behavior,
    cache_ttl_value: String(d.cache_ttl_value),
    cache_ttl_error: String(d.cache_ttl_error),
    default_params: Object.entries(d.default_params)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n'),
    annotation: d.annotation ?? '',
    image_missing: d.image_missing ?? '',
    image_error: d.image_error ?? '',
  };
  const flags: Record<string, boolean> = {};
  for (const flag of FLAG_FIELDS) flags[flag] = d[flag];
  for (const field of TYPE_FIELDS[d.type]) {
    if ((SECRET_FIELDS as readonly string[]).includes(field)) continue;
    const value = d[field];
    if (typeof value === 'boolean') flags[typeField(d.type, field)] = value;
    else if (value !== undefined) fields[typeField(d.type, field)] = String(value);
  }
  const secretsSet: Partial<Record<SecretField, boolean>> = {};
  for (const secret of SECRET_FIELDS) if (TYPE_FIELDS[d.type].includes(secret)) secretsSet[secret] = Boolean(d[secret]);
  return { name: record.name, enabled: record.enabled, type: d.type, fields, flags, secretsSet };
}

/** The form as sent, to show it again next to its errors (secrets are never echoed back). */
export function submittedFormValues(form: URLSearchParams, current: SourceRecord | undefined): SourceFormValues {
  const type = (form.get('type') ?? 'folder') as SourceType;
  const fields: Record<string, string> = {};
  const flags: Record<string, boolean> = {};
  for (const [name, value] of form) {
    if (SECRET_FIELDS.some((secret) => name.endsWith(`.${secret}`)) || name === '_csrf') continue;
    if (value === 'on' && isFlagField(name)) flags[name] = true;
    else fields[name] = value;
  }
  const secretsSet: Partial<Record<SecretField, boolean>> = {};
  for (const secret of SECRET_FIELDS) {
    if (TYPE_FIELDS[type]?.includes(secret)) secretsSet[secret] = current?.deployment.type === type && Boolean(current.deployment[secret]);
  }
  return { name: form.get('name') ?? '', enabled: form.get('enabled') !== null, type, fields, flags, secretsSet };
}

function isFlagField(name: string): boolean {
  return (FLAG_FIELDS as readonly string[]).includes(name) || name.endsWith('.force_path_style') || name.startsWith('remove.') || name === 'enabled';
}

/**
 * The input name of a type's own field: `s3.region`, `gcs.region`. Several types share field names
 * (`region`, `endpoint`, `force_path_style`), and without the page script every type's inputs are on the page.
 */
export function typeField(type: SourceType, field: string): string {
  return `${type}.${field}`;
}

export interface FormConversion {
  attributes: Record<string, unknown>;
  /** Problems found before the service was asked (a parameter line without `=`). */
  errors: Record<string, string>;
}

/**
 * The attributes of a create or update. Empty optional fields are left out on create and removed (`null`)
 * on update; an empty secret field keeps the stored secret (its "remove" checkbox removes it). Only the
 * chosen type's own fields are sent, so a type change drops the old type's fields, as the API does.
 */
export function formToAttributes(form: URLSearchParams, mode: 'create' | 'update'): FormConversion {
  const errors: Record<string, string> = {};
  const text = (name: string): string => (form.get(name) ?? '').trim();
  const type = text('type');
  const deployment: Record<string, unknown> = { type };

  deployment.custom_domains = list(text('custom_domains'));
  deployment.imgix_subdomains = list(text('imgix_subdomains'));
  deployment.cache_ttl_behavior = text('cache_ttl_behavior');
  for (const name of ['cache_ttl_value', 'cache_ttl_error']) {
    // A whole number goes as a number; anything else as typed, for the service to name the problem. Empty: the default, or unchanged.
    const value = text(name);
    if (value !== '') deployment[name] = /^\d{1,15}$/.test(value) ? Number(value) : value;
  }
  const params = parseParams(form.get('default_params') ?? '');
  if (typeof params === 'string') errors.default_params = params;
  else deployment.default_params = params;
  for (const name of TEXT_FIELDS) {
    const value = form.get(name) ?? '';
    if (value.trim() !== '') deployment[name] = name === 'annotation' ? value : value.trim();
    else if (name !== 'annotation' || mode === 'update') deployment[name] = null;
  }
  for (const name of FLAG_FIELDS) deployment[name] = form.get(name) !== null;

  const sourceType = type as SourceType;
  for (const field of TYPE_FIELDS[sourceType] ?? []) {
    const input = typeField(sourceType, field);
    if (field === 'force_path_style') {
      // Optional and off by default: unticked leaves it out (removes it on update).
      if (form.get(input) !== null) deployment[field] = true;
      else if (mode === 'update') deployment[field] = null;
    } else if ((SECRET_FIELDS as readonly string[]).includes(field)) {
      const value = text(input);
      if (value !== '') deployment[field] = value;
      else if (mode === 'update' && form.get(`remove.${input}`) !== null) deployment[field] = null;
    } else {
      const value = text(input);
      if (value !== '') deployment[field] = value;
      else if (mode === 'update') deployment[field] = null;
    }
  }
  return { attributes: { name: text('name'), enabled: form.get('enabled') !== null, deployment }, errors };
}

/** Host names or labels, one a line (commas and spaces separate too). */
function list(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** `auto=format` lines (or `&`-separated on one line) → `{auto: "format"}`; a message when a line is not `name=value`. */
export function parseParams(text: string): Record<string, string> | string {
  const params: Record<string, string> = {};
  const pieces = text.includes('\n') ? text.split(/\r?\n/) : text.split('&');
  for (const piece of pieces.map((line) => line.trim()).filter(Boolean)) {
    const eq = piece.indexOf('=');
    if (eq <= 0) return `Write one parameter a line as name=value, e.g. auto=format ("${piece}" is not).`;
    params[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  return params;
}

/** `/data/attributes/deployment/s3_bucket` → `s3_bucket`; `/data/attributes/name` → `name`; else undefined (a form-level error). */
export function fieldForPointer(pointer: string | undefined): string | undefined {
  if (pointer === undefined) return undefined;
  const match = /^\/data\/attributes\/(?:deployment\/)?([a-z0-9_]+)$/.exec(pointer);
  if (!match || match[1] === 'deployment') return undefined;
  return match[1];
}
