import type { SourceRecord } from '../../store/source-record.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { checkbox, formError, select, textField } from './fields.ts';
import { purgeStatusPanel, type PurgeSummary } from './purge-status.ts';
import { takedownSection, type TakedownSection } from './takedowns.ts';

export interface ToolsView {
  csrfToken: string;
  sources: readonly SourceRecord[];
  /** The purge just sent (or linked from the list). */
  purge?: PurgeSummary | undefined;
  purgeMissing?: string | undefined;
  /** The single-asset form as sent, with its errors. */
  form?: { url: string; prefix: boolean; subImageSource: string; errors: Record<string, string>; formError?: string | undefined };
  sourceForm?: { sourceId: string; error?: string | undefined };
  /** The purge-by-tag form as sent, with its errors. */
  tagForm?: { tag: string; sourceId: string; errors: Record<string, string>; formError?: string | undefined };
  exampleBase: string;
  /** Tools → Takedown. */
  takedowns: TakedownSection;
}

export function toolsView(view: ToolsView): SafeHtml {
  const form = view.form ?? { url: '', prefix: false, subImageSource: '', errors: {} };
  const sourceOptions = view.sources.map((source) => ({ value: source.id, label: `${source.name} (${source.id})${source.enabled ? '' : ' — disabled'}` }));
  return html`
${view.purge ? purgeStatusPanel(view.purge, view.csrfToken) : ''}
${view.purgeMissing ? html`<div class="alert error" role="alert">${view.purgeMissing}</div>` : ''}
<section class="card" aria-labelledby="purge-single-title">
  <h2 id="purge-single-title">Purge Single Asset</h2>
  <p>Removes the asset and every derivative of it (all parameters, all formats) from every cache tier.
    <strong>Change or remove the file at the origin first</strong>: the purge asks the origin what it has now.</p>
  <form method="post" action="/dashboard/tools/purge" class="purge-form" novalidate>
    ${csrfField(view.csrfToken)}
    ${formError(form.formError)}
    ${textField({
      name: 'url',
      label: 'URL of the asset',
      value: form.url,
      required: true,
      code: true,
      inputmode: 'url',
      autocomplete: 'off',
      placeholder: `${view.exampleBase}/image%20file.jpg`,
      error: form.errors.url,
      hint: html`The URL your images are served from, with no parameters needed (<code>?w=400</code> and the like are ignored: every derivative is purged).`,
    })}
    <div class="purge-preview" id="purge-preview" aria-live="polite" data-purge-preview>
      <p class="muted">The exact URL that will be purged is shown here as you type.</p>
    </div>
    <p class="note">Unsafe characters are percent-encoded before purging: a space becomes <code>%20</code>.
      Exactly that path is purged — <code>image%20file.png</code> is not <code>image+file.png</code>, which is another asset.</p>
    ${checkbox({
      name: 'prefix',
      label: 'Everything under this folder',
      checked: form.prefix,
      hint: html`A prefix purge: <code>…/photos/</code> (or <code>…/photos</code>) purges every asset below <code>/photos/</code>.`,
    })}
    ${select({
      name: 'sub_image_source',
      label: 'Sub-image (used as mark or blend) of Source',
      value: form.subImageSource,
      options: [{ value: '', label: 'Not a sub-image' }, ...sourceOptions],
      error: form.errors.sub_image_source,
      hint: 'For an image used as a mark or blend: the Source whose images use it.',
    })}
    <button type="submit" class="primary">Purge</button>
  </form>
</section>
${tagSection(view, sourceOptions)}
<section class="card" aria-labelledby="purge-source-title">
  <h2 id="purge-source-title">Purge a whole Source</h2>
  <p>Purges everything cached for one Source — every asset and every derivative. The next requests are rendered again from the origin.</p>
  <form method="post" action="/dashboard/tools/purge-source" novalidate>
    ${csrfField(view.csrfToken)}
    ${select({
      name: 'source_id',
      label: 'Source',
      value: view.sourceForm?.sourceId ?? '',
      // No Source is chosen for the user: the one purged is always one they picked.
      options: [{ value: '', label: 'Choose a Source…' }, ...sourceOptions],
      error: view.sourceForm?.error,
      required: true,
      hint: 'You confirm on the next page before anything is purged.',
    })}
    <button type="submit">Purge the whole Source…</button>
  </form>
</section>
${takedownSection(view.takedowns)}`;
}

/** Tools → Purge by tag: every asset carrying a tag (as set on the Asset Manager), in one Source or all. */
function tagSection(view: ToolsView, sourceOptions: { value: string; label: string }[]): SafeHtml {
  const form = view.tagForm ?? { tag: '', sourceId: '', errors: {} };
  return html`<section class="card" aria-labelledby="purge-tag-title">
  <h2 id="purge-tag-title">Purge by tag</h2>
  <p>Purges every asset carrying a tag, and every derivative of each, as one purge. Tags are set on the Asset Manager
    (or through the Assets API) and matched exactly: <code>Sale</code> is not <code>sale</code>.</p>
  <form method="post" action="/dashboard/tools/purge-tag" novalidate>
    ${csrfField(view.csrfToken)}
    ${formError(form.formError)}
    ${textField({ name: 'tag', label: 'Tag', value: form.tag, required: true, code: true, autocomplete: 'off', placeholder: 'product-123', error: form.errors.tag })}
    ${select({
      name: 'tag_source',
      label: 'In the Source',
      value: form.sourceId,
      options: [{ value: '', label: 'Every Source' }, ...sourceOptions],
      error: form.errors.tag_source,
    })}
    <button type="submit">Purge by tag</button>
  </form>
</section>`;
}

/** The confirmation step of a whole-Source purge: which Source, and what it costs. */
export function confirmPurgeSourceView(csrfToken: string, source: SourceRecord): SafeHtml {
  return html`<section class="card narrow">
  <p>Purge everything cached for the Source <strong>“${source.name}”</strong> (<code>${source.id}</code>)?</p>
  <p>Every asset of it and every derivative is removed from every cache tier. Until they are cached again, each request
    is rendered anew from the origin, which then takes the whole load. This cannot be undone.</p>
  <form method="post" action="/dashboard/tools/purge-source" class="actions">
    ${csrfField(csrfToken)}
    <input type="hidden" name="source_id" value="${source.id}">
    <input type="hidden" name="confirm" value="yes">
    <button type="submit" class="danger">Purge the whole Source</button>
    <a href="/dashboard/tools">Cancel</a>
  </form>
</section>`;
}
