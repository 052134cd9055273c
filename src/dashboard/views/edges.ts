import { edgeKind, type EdgeKind } from '../../edges/kinds.ts';
import type { EdgeRecord } from '../../store/edge-store.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formError, textField } from './fields.ts';
import { timeTag } from './format.ts';

/** The kinds the page offers a form for, in this order. */
export const OFFERED_KINDS = ['varnish', 'nginx', 'cloudflare', 'fastly', 'cloudfront'] as const;

const KIND_LABELS: Record<(typeof OFFERED_KINDS)[number], string> = {
  varnish: 'Varnish',
  nginx: 'nginx',
  cloudflare: 'Cloudflare',
  fastly: 'Fastly',
  cloudfront: 'CloudFront',
};

export interface EdgesView {
  csrfToken: string;
  edges: readonly EdgeRecord[];
  /** A refused form: its kind, what was typed (never the secrets) and the error. */
  form?: { kind: string; values: Record<string, string>; error: string; field: string | undefined };
}

/**
 * The edges registry: every edge with its kind and where it is, and a form per kind that shows only the fields
 * that kind takes. Secret fields are password inputs, never filled in again: a secret is write-only.
 */
export function edgesView(view: EdgesView): SafeHtml {
  return html`
<section class="card" aria-labelledby="edges-title">
  <h2 id="edges-title">Edges</h2>
  ${view.edges.length === 0 ? html`<p>No edge is registered: purges stop at Pictor's own caches.</p>` : edgesTable(view)}
  <p class="hint">How each kind is set up: docs/cdn-edges.md.</p>
</section>
${OFFERED_KINDS.map((kind) => kindForm(kind, view))}`;
}

function edgesTable(view: EdgesView): SafeHtml {
  return html`<table>
    <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Where</th><th scope="col">Secrets</th><th scope="col">Status</th><th scope="col">Added</th><th scope="col"></th></tr></thead>
    <tbody>
    ${view.edges.map(
      (edge) => html`<tr>
      <td><code>${edge.name}</code></td>
      <td>${edge.kind}</td>
      <td><code class="wrap">${edge.url ?? Object.entries(edge.settings).map(([field, value]) => `${field}=${String(value)}`).join(' ')}</code></td>
      <td>${Object.keys(edge.secrets).length === 0 ? '—' : `${Object.keys(edge.secrets).sort().join(', ')} set`}</td>
      <td>${edge.inRotation ? 'in rotation' : `out of rotation: ${edge.reason ?? 'no reason given'}`}</td>
      <td>${timeTag(edge.createdAt)}</td>
      <td><form method="post" action="/dashboard/edges/${encodeURIComponent(edge.name)}/remove">${csrfField(view.csrfToken)}<button type="submit">Remove</button></form></td>
    </tr>`,
    )}
    </tbody>
  </table>`;
}

function kindForm(kind: (typeof OFFERED_KINDS)[number], view: EdgesView): SafeHtml {
  const spec = edgeKind(kind)!;
  const refused = view.form?.kind === kind ? view.form : undefined;
  const value = (field: string): string | undefined => refused?.values[field];
  const error = (field: string): string | undefined => (refused?.field === field ? refused.error : undefined);
  const id = (field: string): string => `f-${kind}-${field}`;
  return html`<section class="card" aria-labelledby="add-${kind}-title">
  <h2 id="add-${kind}-title">Add a ${KIND_LABELS[kind]} edge</h2>
  <form method="post" action="/dashboard/edges" novalidate>
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="kind" value="${kind}">
    ${formError(refused && refused.field === undefined ? refused.error : undefined)}
    ${textField({ id: id('name'), name: 'name', label: 'Name', value: value('name'), required: true, code: true, error: error('name'), hint: 'Lowercase letters, digits, "-", "_", ".".' })}
    ${spec.addressed ? textField({ id: id('url'), name: 'url', label: 'Purge address', value: value('url'), required: true, code: true, error: error('url'), hint: 'http://HOST:PORT' }) : ''}
    ${settingFields(spec, value, error, id)}
    ${Object.entries(spec.secrets).map(([field, rule]) =>
      textField({ id: id(field), name: field, label: label(field), type: 'password', autocomplete: 'off', required: rule.required, code: true, error: error(field), hint: `${rule.about}. Stored encrypted; never shown again.` }),
    )}
    <button type="submit" class="primary">Add ${KIND_LABELS[kind]} edge</button>
  </form>
</section>`;
}

function settingFields(spec: EdgeKind, value: (field: string) => string | undefined, error: (field: string) => string | undefined, id: (field: string) => string): SafeHtml[] {
  return Object.entries(spec.settings).map(([field, rule]) => {
    if (rule.type === 'flag') {
      return html`<div class="field check"><input type="checkbox" id="${id(field)}" name="${field}" value="true"${value(field) === 'true' ? html` checked` : ''}>
      <label for="${id(field)}">${label(field)}</label><p class="hint">${rule.about}</p>${error(field) ? html`<p class="error">${error(field)}</p>` : ''}</div>`;
    }
    return textField({ id: id(field), name: field, label: label(field), value: value(field), required: rule.required, code: true, error: error(field), hint: rule.about });
  });
}

/** `zone_id` → `Zone id`, `api_token` → `API token`. */
function label(field: string): string {
  const words = field.split('_').map((word) => (word === 'api' ? 'API' : word === 'id' ? 'id' : word));
  const first = words[0]!;
  return [first === 'API' ? first : first[0]!.toUpperCase() + first.slice(1), ...words.slice(1)].join(' ');
}
