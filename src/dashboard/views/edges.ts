import { edgeKind, type FieldRule } from '../../edges/kinds.ts';
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

const COLUMNS = ['Name', 'Kind', 'Where', 'Secrets', 'Status', 'Added', ''];

function edgesTable(view: EdgesView): SafeHtml {
  return html`<table>
    <thead><tr>${COLUMNS.map((column) => html`<th scope="col">${column}</th>`)}</tr></thead>
    <tbody>
    ${view.edges.map(
      (edge) => html`<tr>
      <td><code>${edge.name}</code></td>
      <td>${edge.kind}</td>
      <td><code class="wrap">${edge.url ?? Object.entries(edge.settings).map(([field, value]) => `${field}=${String(value)}`).join(' ')}</code></td>
      <td>${Object.keys(edge.secrets).length === 0 ? '—' : `${Object.keys(edge.secrets).sort().join(', ')} set`}</td>
      <td>${edge.inRotation ? 'in rotation' : `out of rotation: ${edge.reason ?? 'no reason given'}`}</td>
      <td>${timeTag(edge.createdAt)}</td>
      <td><form method="post" action="/dashboard/edges/${encodeURIComponent(edge.name)}/remove">
        ${csrfField(view.csrfToken)}<button type="submit">Remove</button>
      </form></td>
    </tr>`,
    )}
    </tbody>
  </table>`;
}

/** One kind's form: what was typed and the error when it was refused (never a secret's value). */
interface KindForm {
  kind: string;
  value(field: string): string | undefined;
  error(field: string): string | undefined;
}

function kindForm(kind: (typeof OFFERED_KINDS)[number], view: EdgesView): SafeHtml {
  const spec = edgeKind(kind)!;
  const refused = view.form?.kind === kind ? view.form : undefined;
  const form: KindForm = { kind, value: (field) => refused?.values[field], error: (field) => (refused?.field === field ? refused.error : undefined) };
  return html`<section class="card" aria-labelledby="add-${kind}-title">
  <h2 id="add-${kind}-title">Add a ${KIND_LABELS[kind]} edge</h2>
  <form method="post" action="/dashboard/edges" novalidate>
    ${csrfField(view.csrfToken)}
    <input type="hidden" name="kind" value="${kind}">
    ${formError(refused && refused.field === undefined ? refused.error : undefined)}
    ${field(form, 'name', { label: 'Name', required: true, hint: 'Lowercase letters, digits, "-", "_", ".".' })}
    ${spec.addressed ? field(form, 'url', { label: 'Purge address', required: true, hint: 'http://HOST:PORT' }) : ''}
    ${Object.entries(spec.settings).map(([name, rule]) =>
      rule.flag === true ? checkbox(form, name, rule) : field(form, name, { required: rule.required, hint: rule.about }),
    )}
    ${Object.entries(spec.secrets).map(([name, rule]) =>
      field(form, name, { secret: true, required: rule.required, hint: `${rule.about}. Stored encrypted; never shown again.` }),
    )}
    <button type="submit" class="primary">Add ${KIND_LABELS[kind]} edge</button>
  </form>
</section>`;
}

/** A text field of a kind's form; a secret is a password field, never filled in again. */
function field(form: KindForm, name: string, options: { label?: string; required: boolean; hint: string; secret?: boolean }): SafeHtml {
  return textField({
    id: `f-${form.kind}-${name}`,
    name,
    label: options.label ?? label(name),
    value: options.secret ? undefined : form.value(name),
    required: options.required,
    code: true,
    error: form.error(name),
    hint: options.hint,
    ...(options.secret ? { type: 'password' as const, autocomplete: 'off' } : {}),
  });
}

function checkbox(form: KindForm, name: string, rule: FieldRule): SafeHtml {
  const id = `f-${form.kind}-${name}`;
  const error = form.error(name);
  return html`<div class="field check">
    <input type="checkbox" id="${id}" name="${name}" value="true"${form.value(name) === 'true' ? html` checked` : ''}>
    <label for="${id}">${label(name)}</label><p class="hint">${rule.about}</p>${error ? html`<p class="error">${error}</p>` : ''}
  </div>`;
}

/** `zone_id` → `Zone id`, `api_token` → `API token`. */
function label(field: string): string {
  const words = field.split('_').map((word) => (word === 'api' ? 'API' : word === 'id' ? 'id' : word));
  const first = words[0]!;
  return [first === 'API' ? first : first[0]!.toUpperCase() + first.slice(1), ...words.slice(1)].join(' ');
}
