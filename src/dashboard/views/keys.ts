import type { ApiKey, Permission } from '../../auth/api-keys.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formError, textField } from './fields.ts';
import { timeTag } from './format.ts';

/** imgix's names for the permissions, in the order of its dashboard. */
export const PERMISSION_LABELS: Record<Permission, string> = {
  purge: 'Purge',
  sources: 'Sources',
  analytics: 'Analytics',
  'assets-browse': 'Asset Manager Browse',
  'assets-edit': 'Asset Manager Edit',
  admin: 'Admin',
};

/**
 * What each permission the key form offers grants in Pictor. `analytics` is not offered: Pictor has no
 * analytics, so it grants nothing (the CLI still accepts it, as imgix's name, for scripts that ask for it).
 */
export const OFFERED_PERMISSIONS: readonly { permission: Permission; grants: string }[] = [
  { permission: 'purge', grants: 'Purge assets, folders and whole Sources, and read how a purge went.' },
  { permission: 'sources', grants: 'List, create and change Sources (purging on save needs Purge too).' },
  { permission: 'assets-browse', grants: 'List and read the assets of every Source.' },
  { permission: 'assets-edit', grants: 'What Asset Manager Browse may, and change, add, upload and refresh assets.' },
  { permission: 'admin', grants: 'Everything above, and takedowns and edges.' },
];

export interface KeysView {
  csrfToken: string;
  keys: readonly ApiKey[];
  newKey?: { id: string; name: string; key: string } | undefined;
  form?: { name: string; permissions: readonly string[]; errors: Record<string, string>; formError?: string | undefined };
}

export function keysView(view: KeysView): SafeHtml {
  const form = view.form ?? { name: '', permissions: [], errors: {} };
  return html`
${view.newKey ? newKeyPanel(view.newKey) : ''}
<section class="card" aria-labelledby="new-key-title">
  <h2 id="new-key-title">Create an API key</h2>
  <form method="post" action="/dashboard/keys" novalidate>
    ${csrfField(view.csrfToken)}
    ${formError(form.formError)}
    ${textField({ name: 'name', label: 'Name', value: form.name, required: true, error: form.errors.name, hint: 'To recognise the key by, e.g. “CMS purge hook”.' })}
    <fieldset class="permissions${form.errors.permissions ? ' has-error' : ''}"${form.errors.permissions ? html` aria-describedby="permissions-error"` : ''}>
      <legend>Permissions</legend>
      ${OFFERED_PERMISSIONS.map(
        ({ permission, grants }) => html`<div class="field check">
        <input type="checkbox" id="perm-${permission}" name="permissions" value="${permission}" aria-describedby="perm-${permission}-hint"${
          form.permissions.includes(permission) ? html` checked` : ''
        }>
        <label for="perm-${permission}">${PERMISSION_LABELS[permission]}</label>
        <p class="hint" id="perm-${permission}-hint">${grants}</p>
      </div>`,
      )}
      ${form.errors.permissions ? html`<p class="error" id="permissions-error">${form.errors.permissions}</p>` : ''}
    </fieldset>
    <button type="submit" class="primary">Create key</button>
  </form>
</section>
<section aria-labelledby="keys-title">
  <h2 id="keys-title">Keys</h2>
  ${view.keys.length === 0 ? html`<p class="muted">No API keys yet.</p>` : keysTable(view.keys)}
</section>`;
}

function newKeyPanel(key: { id: string; name: string; key: string }): SafeHtml {
  return html`<section class="card new-key" aria-labelledby="created-key-title">
  <h2 id="created-key-title">New API key “${key.name}”</h2>
  <p><strong>It is shown only this once</strong> — only a digest of it is stored. Copy it now and keep it safe.</p>
  <div class="copy-row">
    <code id="new-key-value" class="secret" data-new-key>${key.key}</code>
    <button type="button" data-copy="new-key-value">Copy</button>
  </div>
  <p class="hint" data-copy-status="new-key-value" aria-live="polite"></p>
</section>`;
}

function keysTable(keys: readonly ApiKey[]): SafeHtml {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="keys-title">
<table class="keys stack" role="table">
  <thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">Name</th><th scope="col" role="columnheader">Permissions</th><th scope="col" role="columnheader">Created</th><th scope="col" role="columnheader">Last used</th><th scope="col" role="columnheader">State</th><th scope="col" role="columnheader"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody role="rowgroup">
  ${keys.map(
    (key) => html`<tr role="row" data-key-id="${key.id}">
    <td role="cell" data-label="Name">${key.name}<br><code class="muted">${key.id}</code></td>
    <td role="cell" data-label="Permissions">${key.permissions.map((permission) => PERMISSION_LABELS[permission] ?? permission).join(', ')}</td>
    <td role="cell" data-label="Created">${timeTag(key.createdAt.getTime())}</td>
    <td role="cell" data-label="Last used">${key.lastUsedAt ? timeTag(key.lastUsedAt.getTime()) : html`<span class="muted">never</span>`}</td>
    <td role="cell" data-label="State">${key.revokedAt ? html`<span class="status status-revoked">Revoked</span> ${timeTag(key.revokedAt.getTime())}` : html`<span class="status status-active">Active</span>`}</td>
    <td role="cell" class="actions-cell" data-label=""><div class="actions">${
      key.revokedAt ? '' : html`<a class="danger-link" href="/dashboard/keys/${key.id}/revoke">Revoke<span class="visually-hidden"> ${key.name}</span></a>`
    }</div></td>
  </tr>`,
  )}
  </tbody>
</table>
</div>`;
}

export function revokeView(csrfToken: string, key: ApiKey): SafeHtml {
  return html`<section class="card narrow">
  <p>Revoke the API key <strong>“${key.name}”</strong> (<code>${key.id}</code>, ${key.permissions.map((permission) => PERMISSION_LABELS[permission] ?? permission).join(', ')})?</p>
  <p>Every request made with it is refused (<code>401</code>) from now on. This cannot be undone.</p>
  <form method="post" action="/dashboard/keys/${key.id}/revoke" class="actions">
    ${csrfField(csrfToken)}
    <button type="submit" class="danger">Revoke key</button>
    <a href="/dashboard/keys">Cancel</a>
  </form>
</section>`;
}
