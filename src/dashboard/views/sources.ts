import { REQUIRED_FIELDS, SOURCE_TYPES } from '../../sources/source-document.ts';
import type { SourceRecord, SourceType } from '../../store/source-record.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { TYPE_FIELDS, TYPE_LABELS, typeField, type SecretField, type SourceFormValues } from '../source-form.ts';
import { checkbox, formError, select, textArea, textField } from './fields.ts';
import { timeTag } from './format.ts';

export interface SourceRow {
  record: SourceRecord;
  hosts: string[];
  isDefault: boolean;
}

export interface SourcesListView {
  csrfToken: string;
  rows: readonly SourceRow[];
  page: number;
  pageSize: number;
  total: number;
}

function pageLink(page: number): string {
  return page > 1 ? `/dashboard/sources?page=${page}` : '/dashboard/sources';
}

export function sourcesListView({ csrfToken, rows, page, pageSize, total }: SourcesListView): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  return html`<p><a class="button primary" href="/dashboard/sources/new">Add a Source</a></p>
<p class="muted" id="sources-count">Sources ${first}–${last} of ${total}, oldest first.</p>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="sources-count">
<table class="sources stack" role="table">
  <thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">Name</th><th scope="col" role="columnheader">Id</th><th scope="col" role="columnheader">Type</th><th scope="col" role="columnheader">Domains</th><th scope="col" role="columnheader">State</th><th scope="col" role="columnheader"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody role="rowgroup">
  ${rows.map(
    ({ record, hosts, isDefault }) => html`<tr role="row" data-source-id="${record.id}">
    <td role="cell" data-label="Name"><a href="/dashboard/sources/${record.id}">${record.name}</a>${isDefault ? html` <span class="tag">default</span>` : ''}${
      record.deployment.secure_url_enabled ? html` <span class="tag">signed URLs</span>` : ''
    }</td>
    <td role="cell" data-label="Id"><code class="source-id">${record.id}</code></td>
    <td role="cell" data-label="Type">${TYPE_LABELS[record.deployment.type].replace(/ \(.*\)$/, '')}</td>
    <td role="cell" data-label="Domains">${hosts.length > 0 ? html`<ul class="plain domains">${hosts.map((host) => html`<li><code>${host}</code></li>`)}</ul>` : html`<span class="muted">none</span>`}</td>
    <td role="cell" data-label="State"><span class="status status-${record.enabled ? 'active' : 'revoked'}">${record.enabled ? 'Enabled' : 'Disabled'}</span></td>
    <td role="cell" class="actions-cell" data-label=""><div class="actions">
      <a href="/dashboard/sources/${record.id}">Edit<span class="visually-hidden"> ${record.name}</span></a>
      <a href="/dashboard/preview?source=${record.id}">Preview<span class="visually-hidden"> ${record.name}</span></a>
      ${enableForm(csrfToken, record, 'list')}
    </div></td>
  </tr>`,
  )}
  </tbody>
</table>
</div>
${
  pages > 1
    ? html`<nav class="pager" aria-label="Pages">
  ${page > 1 ? html`<a href="${pageLink(page - 1)}" rel="prev">← Previous</a>` : html`<span></span>`}
  <span>Page ${page} of ${pages}</span>
  ${page < pages ? html`<a href="${pageLink(page + 1)}" rel="next">Next →</a>` : html`<span></span>`}
</nav>`
    : ''
}`;
}

export function enableForm(csrfToken: string, record: SourceRecord, back: 'list' | 'edit'): SafeHtml {
  return html`<form method="post" action="/dashboard/sources/${record.id}/enabled" class="inline">
  ${csrfField(csrfToken)}
  <input type="hidden" name="enabled" value="${record.enabled ? 'false' : 'true'}">
  <input type="hidden" name="back" value="${back}">
  <button type="submit" class="small">${record.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${record.name}</span></button>
</form>`;
}

/** The confirmation step of disabling a Source: which one, and what its clients will get. */
export function confirmDisableView(csrfToken: string, record: SourceRecord, hosts: readonly string[], back: 'list' | 'edit'): SafeHtml {
  return html`<section class="card narrow">
  <p>Disable the Source <strong>“${record.name}”</strong> (<code>${record.id}</code>)?</p>
  <p>${
    hosts.length > 0 ? html`Its domains (${hosts.map((host, index) => html`${index > 0 ? ', ' : ''}<code>${host}</code>`)}) answer` : 'It answers'
  } <code>410 Gone</code> for every asset not cached yet, from now on. Enable it again at any time.</p>
  <form method="post" action="/dashboard/sources/${record.id}/enabled" class="actions">
    ${csrfField(csrfToken)}
    <input type="hidden" name="enabled" value="false">
    <input type="hidden" name="back" value="${back}">
    <input type="hidden" name="confirm" value="yes">
    <button type="submit" class="danger">Disable the Source</button>
    <a href="${back === 'edit' ? `/dashboard/sources/${record.id}` : '/dashboard/sources'}">Cancel</a>
  </form>
</section>`;
}

export interface SourceFormView {
  csrfToken: string;
  mode: 'create' | 'update';
  values: SourceFormValues;
  errors: Record<string, string>;
  formError?: string | undefined;
  /** On edit. */
  record?: SourceRecord | undefined;
  hosts?: string[];
  isDefault?: boolean;
}

const FIELD_TEXT: Record<string, { label: string; hint?: string; secret?: true; flag?: true }> = {
  folder_path: { label: 'Folder path', hint: 'An existing absolute directory on this server, e.g. /srv/photos.' },
  webfolder_base_url: { label: 'Base URL', hint: 'Asset paths are appended to it, e.g. https://www.example.com/images/.' },
  s3_bucket: { label: 'Bucket' },
  s3_prefix: { label: 'Path prefix', hint: 'Optional: a folder inside the bucket.' },
  s3_access_key: { label: 'Access key ID' },
  s3_secret_key: { label: 'Secret access key', secret: true },
  bucket_name: { label: 'Bucket' },
  storage_provider: { label: 'Storage provider', hint: 'Optional, for your reference: e.g. DigitalOcean Spaces, Wasabi, MinIO.' },
  prefix: { label: 'Path prefix', hint: 'Optional: a folder inside the bucket.' },
  access_key: { label: 'Access key' },
  secret_key: { label: 'Secret key', secret: true },
  gcs_bucket: { label: 'Bucket' },
  gcs_prefix: { label: 'Path prefix', hint: 'Optional: a folder inside the bucket.' },
  gcs_access_key: { label: 'HMAC access key' },
  gcs_secret_key: { label: 'HMAC secret', secret: true },
  region: { label: 'Region', hint: 'e.g. us-east-1 (optional).' },
  endpoint: { label: 'Endpoint', hint: 'Optional: the storage API URL, e.g. https://fra1.digitaloceanspaces.com.' },
  force_path_style: { label: 'Path-style addressing (endpoint/bucket/key)', flag: true },
};

export function sourceFormView(view: SourceFormView): SafeHtml {
  const { values, errors, record } = view;
  const action = record ? `/dashboard/sources/${record.id}` : '/dashboard/sources';
  return html`${record ? sourceFacts(view.csrfToken, record, view.hosts ?? [], view.isDefault ?? false) : ''}
<form method="post" action="${action}" class="source-form" novalidate data-source-form>
  ${csrfField(view.csrfToken)}
  ${formError(view.formError ?? (Object.keys(errors).length > 0 ? `Not saved: ${Object.values(errors).join(' ')}` : undefined))}
  <fieldset>
    <legend>Source</legend>
    ${textField({ name: 'name', label: 'Name', value: values.name, required: true, error: errors.name })}
    ${checkbox({ name: 'enabled', label: 'Enabled', checked: values.enabled, error: errors.enabled, hint: 'A disabled Source answers 410 for assets not cached yet.' })}
    ${select({
      name: 'type',
      label: 'Type',
      value: values.type,
      required: true,
      error: errors.type,
      options: SOURCE_TYPES.map((type) => ({ value: type, label: TYPE_LABELS[type] })),
      hint: record ? 'Changing the type needs the new type’s required fields and drops the old type’s own fields.' : undefined,
    })}
  </fieldset>
  ${SOURCE_TYPES.map((type) => typeFieldset(type, view))}
  <fieldset>
    <legend>Domains</legend>
    ${textArea({
      name: 'custom_domains',
      label: 'Custom domains',
      value: values.fields.custom_domains,
      error: errors.custom_domains,
      hint: 'Host names the Source is served on, one a line, e.g. images.example.com. Purge URLs may use any of them.',
    })}
    ${textArea({
      name: 'imgix_subdomains',
      label: 'Subdomains',
      value: values.fields.imgix_subdomains,
      error: errors.imgix_subdomains,
      hint: 'DNS labels, one a line: with --base-domain set, shop serves shop.<base domain>.',
    })}
  </fieldset>
  <fieldset>
    <legend>Caching</legend>
    ${select({
      name: 'cache_ttl_behavior',
      label: 'Cache TTL behaviour',
      value: values.fields.cache_ttl_behavior,
      error: errors.cache_ttl_behavior,
      options: [
        { value: 'respect_origin', label: 'Respect the origin’s max-age' },
        { value: 'override_origin', label: 'Override the origin (use the TTL below)' },
        { value: 'enforce_minimum', label: 'Enforce a minimum (the TTL below)' },
      ],
    })}
    ${textField({ name: 'cache_ttl_value', label: 'Cache TTL (seconds)', type: 'number', min: 0, inputmode: 'numeric', value: values.fields.cache_ttl_value, error: errors.cache_ttl_value })}
    ${textField({ name: 'cache_ttl_error', label: 'Error TTL (seconds)', type: 'number', min: 0, inputmode: 'numeric', value: values.fields.cache_ttl_error, error: errors.cache_ttl_error, hint: 'How long error responses (such as 404) are cached.' })}
  </fieldset>
  <fieldset>
    <legend>Rendering</legend>
    ${textArea({
      name: 'default_params',
      label: 'Default parameters',
      value: values.fields.default_params,
      error: errors.default_params,
      hint: 'Applied to every image, one name=value a line, e.g. auto=format.',
    })}
    ${textField({ name: 'image_missing', label: 'Image for missing assets', value: values.fields.image_missing, error: errors.image_missing, code: true, hint: 'Optional: an image URL served instead of a 404.' })}
    ${checkbox({ name: 'image_missing_append_qs', label: 'Append the request’s parameters to it', checked: values.flags.image_missing_append_qs ?? false, error: errors.image_missing_append_qs })}
    ${textField({ name: 'image_error', label: 'Image for errors', value: values.fields.image_error, error: errors.image_error, code: true, hint: 'Optional: an image URL served instead of an error.' })}
    ${checkbox({ name: 'image_error_append_qs', label: 'Append the request’s parameters to it', checked: values.flags.image_error_append_qs ?? false, error: errors.image_error_append_qs })}
  </fieldset>
  <fieldset>
    <legend>Security</legend>
    ${checkbox({
      name: 'secure_url_enabled',
      label: 'Secure URLs (every URL must be signed)',
      checked: values.flags.secure_url_enabled ?? false,
      error: errors.secure_url_enabled,
      hint: 'Always on for Web Proxy Sources. Turning it on creates the signing token, shown above once saved.',
    })}
  </fieldset>
  ${textField({ name: 'annotation', label: 'Annotation', value: values.fields.annotation, error: errors.annotation, hint: 'Optional notes about this Source.' })}
  <div class="actions">
    <button type="submit" class="primary">${record ? 'Save changes' : 'Create Source'}</button>
    <a href="/dashboard/sources">Cancel</a>
  </div>
</form>`;
}

function typeFieldset(type: SourceType, view: SourceFormView): SafeHtml {
  const fields = TYPE_FIELDS[type];
  return html`<fieldset data-type-fields="${type}">
  <legend>${TYPE_LABELS[type]} settings</legend>
  ${fields.length === 0 ? html`<p class="hint">A Web Proxy Source fetches whole origin URLs given as the path, so its URLs are always signed. It has no other settings.</p>` : ''}
  ${fields.map((field) => {
    const name = typeField(type, field);
    const text = FIELD_TEXT[field]!;
    const error = view.values.type === type ? view.errors[name] : undefined;
    const required = (REQUIRED_FIELDS[type] as readonly string[]).includes(field);
    if (text.flag) return checkbox({ name, label: text.label, checked: view.values.flags[name] ?? false, error });
    if (text.secret) {
      const stored = view.values.secretsSet[field as SecretField] ?? false;
      return html`${textField({
        name,
        label: text.label,
        type: 'password',
        autocomplete: 'new-password',
        error,
        hint: stored ? 'A secret is stored; leave this empty to keep it.' : 'None stored yet. It is write-only: never shown again.',
      })}${stored && view.mode === 'update' ? checkbox({ name: `remove.${name}`, label: `Remove the stored ${text.label.toLowerCase()}`, checked: false }) : ''}`;
    }
    return textField({ name, label: text.label, value: view.values.fields[name], error, required, code: true, hint: text.hint });
  })}
</fieldset>`;
}

function sourceFacts(csrfToken: string, record: SourceRecord, hosts: string[], isDefault: boolean): SafeHtml {
  return html`<section class="card" aria-labelledby="source-facts-title">
  <h2 id="source-facts-title">${record.name}${isDefault ? html` <span class="tag">default</span>` : ''}</h2>
  <dl class="facts">
    <dt>Id</dt><dd><code class="source-id" id="source-id">${record.id}</code> <button type="button" class="small" data-copy="source-id">Copy</button>
      <span class="hint" data-copy-status="source-id" aria-live="polite"></span></dd>
    <dt>Domains</dt><dd>${hosts.length > 0 ? html`<ul class="plain domains">${hosts.map((host) => html`<li><code>${host}</code></li>`)}</ul>` : html`<span class="muted">none — add a custom domain to serve and purge it</span>`}</dd>
    <dt>State</dt><dd><span class="status status-${record.enabled ? 'active' : 'revoked'}">${record.enabled ? 'Enabled (deployed)' : 'Disabled'}</span> ${enableForm(csrfToken, record, 'edit')}</dd>
    <dt>Deployed</dt><dd>${timeTag(record.dateDeployed * 1000)}</dd>
    ${
      record.deployment.secure_url_enabled && record.secureUrlToken
        ? html`<dt>Signing token</dt><dd><code class="secret" id="secure-token">${record.secureUrlToken}</code> <button type="button" class="small" data-copy="secure-token">Copy</button>
      <span class="hint" data-copy-status="secure-token" aria-live="polite"></span></dd>`
        : ''
    }
  </dl>
  <p><a href="/dashboard/preview?source=${record.id}">Preview an asset of this Source</a></p>
</section>`;
}
