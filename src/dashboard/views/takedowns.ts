import type { TakedownRecord } from '../../store/takedown-store.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formError, textArea, textField } from './fields.ts';
import { timeTag } from './format.ts';

export interface TakedownForm {
  url: string;
  reason: string;
  errors: Record<string, string>;
  formError?: string | undefined;
}

export interface TakedownSection {
  csrfToken: string;
  exampleBase: string;
  /** The newest active takedowns, and how many there are in all. */
  active: readonly TakedownRecord[];
  activeTotal: number;
  form?: TakedownForm | undefined;
}

/** Tools → Takedown: the form (sent to a confirmation step first) and the active takedowns, each with Lift. */
export function takedownSection(view: TakedownSection): SafeHtml {
  const form = view.form ?? { url: '', reason: '', errors: {} };
  return html`<section class="card" aria-labelledby="takedown-title" id="takedown">
  <h2 id="takedown-title">Takedown</h2>
  <p>For a legal notice: purges the asset from every cache tier and answers <code>451 Unavailable For Legal Reasons</code>
    for it — every parameter, every format, and every image that uses it as a mark, blend or mask — until the takedown is lifted,
    even while the origin still has the file. The same file and the same bytes are blocked too, through any Source, path,
    symlink or copy. Who did it, when and why is kept in an audit trail.</p>
  <form method="post" action="/dashboard/tools/takedown" novalidate>
    ${csrfField(view.csrfToken)}
    ${formError(form.formError)}
    ${textField({
      name: 'takedown_url',
      label: 'Asset URL to take down',
      value: form.url,
      required: true,
      code: true,
      inputmode: 'url',
      autocomplete: 'off',
      placeholder: `${view.exampleBase}/image%20file.jpg`,
      error: form.errors.url,
      hint: 'Any URL of the asset: parameters are ignored, every derivative is blocked.',
    })}
    ${textArea({ name: 'reason', label: 'Reason', value: form.reason, error: form.errors.reason, hint: 'Kept in the audit trail: the notice, ticket or case this answers.' })}
    <button type="submit" class="danger">Review takedown…</button>
  </form>
  <h3 id="active-takedowns-title">Active takedowns</h3>
  ${
    view.active.length === 0
      ? html`<p class="muted">No asset is taken down.</p>`
      : html`<p class="muted">${view.activeTotal > view.active.length ? `The newest ${view.active.length} of ${view.activeTotal}.` : `${view.activeTotal} in all.`}</p>
  <div class="table-wrap" tabindex="0" role="region" aria-labelledby="active-takedowns-title">
  <table class="takedowns stack" role="table">
    <thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">URL</th><th scope="col" role="columnheader">Reason</th><th scope="col" role="columnheader">By</th><th scope="col" role="columnheader">Since</th><th scope="col" role="columnheader"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody role="rowgroup">
    ${view.active.map(
      (record) => html`<tr role="row" data-takedown-id="${record.id}">
      <td role="cell" class="url" data-label="URL"><code class="wrap">${record.url}</code>${contentLine(record)}</td>
      <td role="cell" data-label="Reason">${record.reason}</td>
      <td role="cell" data-label="By">${record.createdBy}</td>
      <td role="cell" data-label="Since">${timeTag(record.createdAt)}</td>
      <td role="cell" class="actions-cell" data-label=""><div class="actions"><a class="danger-link" href="/dashboard/tools/takedowns/${record.id}/lift">Lift<span class="visually-hidden"> the takedown of ${record.url}</span></a></div></td>
    </tr>`,
    )}
    </tbody>
  </table>
  </div>`
  }
</section>`;
}

/** What the takedown recorded of the content: its bytes' SHA-256 and origin object, or why they are missing. */
function contentLine(record: TakedownRecord): SafeHtml {
  if (record.sha256 === null) return html`<br><small class="muted">${record.originNote ?? ''}</small>`;
  return html`<br><small class="muted">Content: SHA-256 <code title="${record.sha256}">${record.sha256.slice(0, 12)}…</code>${
    record.originObject === null ? '' : html`, <code class="wrap">${record.originObject}</code>`
  }</small>`;
}

/** The confirmation step: what exactly will be blocked, and the button that does it. */
export function confirmTakedownView(csrfToken: string, takedown: { url: string; reason: string; sourceName: string; path: string }): SafeHtml {
  return html`<section class="card narrow">
  <p>Take down <code class="wrap">${takedown.path}</code> of the Source <strong>${takedown.sourceName}</strong>?</p>
  <p>Every request for it answers <code>451</code> from now on, with any parameters and on every domain of the Source, as do
    images that use it as a mark, blend or mask, and every request that reaches the same file or the same bytes through another
    Source, path or symlink; its cached copies are purged. It stays blocked until the takedown is lifted.</p>
  <p>Reason: ${takedown.reason}</p>
  <form method="post" action="/dashboard/tools/takedown" class="actions">
    ${csrfField(csrfToken)}
    <input type="hidden" name="takedown_url" value="${takedown.url}">
    <input type="hidden" name="reason" value="${takedown.reason}">
    <input type="hidden" name="confirm" value="yes">
    <button type="submit" class="danger">Take down</button>
    <a href="/dashboard/tools#takedown">Cancel</a>
  </form>
</section>`;
}

/** The confirmation of a lift, with an optional reason for the audit trail. */
export function liftTakedownView(csrfToken: string, record: TakedownRecord, error?: string): SafeHtml {
  return html`<section class="card narrow">
  <p>Lift the takedown of <code class="wrap">${record.url}</code> (since ${timeTag(record.createdAt)}, by ${record.createdBy}: ${record.reason})?</p>
  <p>The asset is served again from the next request, fetched anew from the origin.</p>
  <form method="post" action="/dashboard/tools/takedowns/${record.id}/lift" novalidate>
    ${csrfField(csrfToken)}
    ${textArea({ name: 'reason', label: 'Reason (optional)', error, hint: 'Kept in the audit trail, e.g. the counter-notice.' })}
    <div class="actions">
      <button type="submit" class="danger">Lift takedown</button>
      <a href="/dashboard/tools#takedown">Cancel</a>
    </div>
  </form>
</section>`;
}
