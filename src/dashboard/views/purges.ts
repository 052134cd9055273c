import type { PurgeRecord } from '../../store/purge-log.ts';
import { html, type SafeHtml } from '../html.ts';
import { select, textField } from './fields.ts';
import { timeTag } from './format.ts';
import type { PurgeSummary } from './purge-status.ts';

export interface PurgesView {
  rows: { record: PurgeRecord; summary: PurgeSummary }[];
  status: string;
  text: string;
  page: number;
  pageSize: number;
  total: number;
}

const STATUS_OPTIONS = [
  { value: '', label: 'Any status' },
  { value: 'pending', label: 'Pending' },
  { value: 'completed', label: 'Completed' },
  { value: 'failed', label: 'Failed' },
];

function pageLink(view: PurgesView, page: number): string {
  const query = new URLSearchParams();
  if (view.status) query.set('status', view.status);
  if (view.text) query.set('q', view.text);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return `/dashboard/purges${text ? `?${text}` : ''}`;
}

export function purgesView(view: PurgesView): SafeHtml {
  const pages = Math.max(1, Math.ceil(view.total / view.pageSize));
  const first = view.total === 0 ? 0 : (view.page - 1) * view.pageSize + 1;
  const last = Math.min(view.total, view.page * view.pageSize);
  return html`<form class="filters" method="get" action="/dashboard/purges" role="search" aria-label="Filter purges">
  ${select({ name: 'status', label: 'Status', value: view.status, options: STATUS_OPTIONS })}
  ${textField({ name: 'q', label: 'URL contains', value: view.text, type: 'search', code: true })}
  <button type="submit">Filter</button>
  ${view.status || view.text ? html`<a href="/dashboard/purges">Clear filters</a>` : ''}
</form>
<p class="muted" id="purges-count">${view.total === 0 ? 'No purges match.' : `Purges ${first}–${last} of ${view.total}, newest first.`}</p>
${
  view.rows.length > 0
    ? html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="purges-count">
<table class="purges stack" role="table">
  <thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">URL</th><th scope="col" role="columnheader">Requested by</th><th scope="col" role="columnheader">Status</th><th scope="col" role="columnheader">Created</th><th scope="col" role="columnheader">Completed</th><th scope="col" role="columnheader">Took</th><th scope="col" role="columnheader">Origin</th></tr></thead>
  <tbody role="rowgroup">
    ${view.rows.map(
      ({ record, summary }) => html`<tr role="row" data-purge-id="${record.id}">
      <td role="cell" class="url" data-label="URL"><a href="/dashboard/tools?purge=${record.id}"><code class="wrap">${summary.target}</code></a>${record.subImage ? html` <span class="tag">sub-image</span>` : ''}</td>
      <td role="cell" data-label="Requested by">${summary.requestedBy}</td>
      <td role="cell" data-label="Status"><span class="status status-${record.status}">${record.status}</span>${record.error ? html`<br><span class="muted">${record.error}</span>` : ''}</td>
      <td role="cell" data-label="Created">${timeTag(record.createdAt)}</td>
      <td role="cell" data-label="Completed">${timeTag(record.completedAt)}</td>
      <td role="cell" data-label="Took">${summary.durationLabel}</td>
      <td role="cell" data-label="Origin">${record.origin ?? html`<span class="muted">—</span>`}</td>
    </tr>`,
    )}
  </tbody>
</table>
</div>`
    : ''
}
${
  pages > 1
    ? html`<nav class="pager" aria-label="Pages">
  ${view.page > 1 ? html`<a href="${pageLink(view, view.page - 1)}" rel="prev">← Newer</a>` : html`<span></span>`}
  <span>Page ${view.page} of ${pages}</span>
  ${view.page < pages ? html`<a href="${pageLink(view, view.page + 1)}" rel="next">Older →</a>` : html`<span></span>`}
</nav>`
    : ''
}`;
}
