import type { SourceRecord } from '../../store/source-record.ts';
import { html, type SafeHtml } from '../html.ts';
import type { PreviewInput, RenderProbe } from '../preview-url.ts';
import { select, textField } from './fields.ts';
import { formatBytes } from './format.ts';

export interface PreviewView {
  sources: readonly SourceRecord[];
  sourceId: string;
  input: PreviewInput;
  errors: Record<string, string>;
  result?: {
    /** The URL as the world uses it (the Source's first domain), or undefined when the Source has none. */
    publicUrl: string | undefined;
    /** Where this page loads the image from. */
    imageSrc: string;
    signed: boolean;
    probe: RenderProbe | undefined;
    probeError: string | undefined;
  };
  notice?: string | undefined;
}

const FITS = ['', 'clip', 'clamp', 'crop', 'fill', 'fillmax', 'max', 'min', 'scale'];
const FORMATS = ['', 'jpg', 'pjpg', 'png', 'png8', 'png32', 'webp', 'avif', 'gif', 'json', 'blurhash'];

export function previewView(view: PreviewView): SafeHtml {
  const { input, errors } = view;
  return html`<form method="get" action="/dashboard/preview" class="card preview-form">
  ${select({
    name: 'source',
    label: 'Source',
    value: view.sourceId,
    error: errors.source,
    options: view.sources.map((source) => ({ value: source.id, label: `${source.name} (${source.id})${source.enabled ? '' : ' — disabled'}` })),
  })}
  ${textField({ name: 'path', label: 'Asset path', value: input.path, required: true, code: true, error: errors.path, placeholder: '/image file.jpg', hint: 'As in the URL, e.g. /photos/dog.jpg; unsafe characters are encoded for you.' })}
  <div class="param-grid">
    ${textField({ name: 'w', label: 'Width (w)', value: input.params.w, inputmode: 'decimal', code: true })}
    ${textField({ name: 'h', label: 'Height (h)', value: input.params.h, inputmode: 'decimal', code: true })}
    ${select({ name: 'fit', label: 'Fit (fit)', value: input.params.fit ?? '', options: FITS.map((fit) => ({ value: fit, label: fit || 'default (clip)' })) })}
    ${select({ name: 'fm', label: 'Format (fm)', value: input.params.fm ?? '', options: FORMATS.map((fm) => ({ value: fm, label: fm || 'original' })) })}
    ${textField({ name: 'q', label: 'Quality (q)', value: input.params.q, inputmode: 'numeric', code: true })}
  </div>
  ${textField({ name: 'query', label: 'More parameters', value: input.query, code: true, error: errors.query, placeholder: 'auto=format&sat=-100', hint: 'Any rendering parameters, as name=value pairs joined by &.' })}
  <button type="submit" class="primary">Preview</button>
</form>
${view.result ? resultView(view.result, input.path) : ''}`;
}

function resultView(result: NonNullable<PreviewView['result']>, path: string): SafeHtml {
  const probe = result.probe;
  return html`<section class="card preview-result" aria-labelledby="preview-result-title">
  <h2 id="preview-result-title">Result</h2>
  ${
    result.publicUrl
      ? html`<div class="copy-row"><code id="preview-url" class="wrap" data-preview-url>${result.publicUrl}</code>
    <button type="button" class="small" data-copy="preview-url">Copy URL</button></div>
    <p class="hint" data-copy-status="preview-url" aria-live="polite"></p>`
      : html`<p class="alert warning">This Source has no domain yet, so no client can reach it; add a custom domain. The preview below goes through the render listener all the same.</p>`
  }
  ${result.signed ? html`<p class="hint">Signed with the Source’s token: its secure URLs are on.</p>` : ''}
  ${
    result.probeError
      ? html`<p class="alert error">The render listener could not be asked: ${result.probeError}</p>`
      : probe
        ? html`<p class="${probe.status === 200 ? 'muted' : 'alert error'}" data-preview-status="${probe.status}">${probe.status} · ${probe.contentType ?? 'no content type'} · ${formatBytes(probe.bytes)}${
            probe.message ? html` — ${probe.message}` : ''
          }</p>`
        : ''
  }
  ${
    probe?.status === 200 && probe.contentType?.startsWith('image/')
      ? html`<div class="preview-frame"><img src="${result.imageSrc}" alt="Rendering of ${path}" data-preview-image></div>`
      : ''
  }
</section>`;
}
