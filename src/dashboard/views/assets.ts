import type { SourceRecord } from '../../store/source-record.ts';
import type { AssetRecord } from '../../store/asset-store.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { select, textField } from './fields.ts';
import { formatBytes, timeTag } from './format.ts';

/** The browsing state of the Assets page, kept in its URL. */
export interface AssetsFilters {
  sourceId: string;
  kind: string;
  folder: string;
  sort: string;
}

export interface AssetsView {
  csrfToken: string;
  sources: readonly SourceRecord[];
  filters: AssetsFilters;
  assets: readonly AssetRecord[];
  /** The cursor of the next page, when there is one. */
  next: string | null;
  /** Whether this is a later page (a link back to the first is shown). */
  paged: boolean;
  /** What went wrong with the filters, shown above the list. */
  error?: string | undefined;
}

const KIND_OPTIONS = [
  { value: '', label: 'Any kind' },
  { value: 'IMAGE', label: 'Images' },
  { value: 'VIDEO', label: 'Videos' },
  { value: 'OTHER', label: 'Other files' },
];

export const SORT_OPTIONS = [
  { value: '-date_created', label: 'Newest first' },
  { value: 'date_created', label: 'Oldest first' },
  { value: '-date_modified', label: 'Recently modified' },
  { value: 'origin_path', label: 'Path, A–Z' },
  { value: '-file_size', label: 'Largest first' },
];

const VIDEO_STATES: Record<NonNullable<AssetRecord['videoStatus']>, string> = {
  processing: 'Processing',
  processed: 'Processed',
  error: 'Error',
};

/** The page's own URL with these filters (and a cursor). */
export function assetsLink(filters: AssetsFilters, cursor?: string): string {
  const query = new URLSearchParams({ source: filters.sourceId });
  if (filters.kind) query.set('kind', filters.kind);
  if (filters.folder) query.set('folder', filters.folder);
  if (filters.sort !== SORT_OPTIONS[0]!.value) query.set('sort', filters.sort);
  if (cursor) query.set('cursor', cursor);
  return `/dashboard/asset-manager?${query.toString()}`;
}

export function assetsView(view: AssetsView): SafeHtml {
  const { filters } = view;
  const back = assetsLink(filters);
  return html`<form class="filters" method="get" action="/dashboard/asset-manager" role="search" aria-label="Browse assets">
  ${select({ name: 'source', label: 'Source', value: filters.sourceId, options: view.sources.map((source) => ({ value: source.id, label: source.name })) })}
  ${select({ name: 'kind', label: 'Kind', value: filters.kind, options: KIND_OPTIONS })}
  ${textField({ name: 'folder', label: 'Folder', value: filters.folder, type: 'search', code: true, placeholder: '/photos/' })}
  ${select({ name: 'sort', label: 'Order', value: filters.sort, options: SORT_OPTIONS })}
  <button type="submit">Show</button>
</form>
${view.error ? html`<div class="alert error" role="alert">${view.error}</div>` : ''}
<p class="muted" id="assets-count">${
    view.assets.length === 0
      ? 'No assets here yet: an asset is listed once it is served, added through the Assets API, or uploaded.'
      : `${view.assets.length} asset${view.assets.length === 1 ? '' : 's'} on this page.`
  } Refresh asks the origin again and purges every cached output of the asset.</p>
${
  view.assets.length > 0
    ? html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="assets-count">
<table class="assets stack" role="table">
  <thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">Path</th><th scope="col" role="columnheader">Kind</th><th scope="col" role="columnheader">Size</th><th scope="col" role="columnheader">Video</th><th scope="col" role="columnheader">Modified</th><th scope="col" role="columnheader"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody role="rowgroup">
  ${view.assets.map(
    (asset) => html`<tr role="row" data-asset-path="${asset.originPath}">
    <td role="cell" class="url" data-label="Path"><div><code class="wrap">${asset.originPath}</code>${asset.name ? html`<br><span class="muted">${asset.name}</span>` : ''}</div></td>
    <td role="cell" data-label="Kind"><div>${asset.mediaKind.toLowerCase()}<br><span class="muted">${asset.contentType}</span></div></td>
    <td role="cell" data-label="Size"><div>${asset.mediaWidth !== null && asset.mediaHeight !== null ? html`${asset.mediaWidth} × ${asset.mediaHeight} px<br>` : ''}<span class="muted">${formatBytes(asset.fileSize)}</span></div></td>
    <td role="cell" data-label="Video">${
      asset.videoStatus ? html`<span class="status video-${asset.videoStatus}">${VIDEO_STATES[asset.videoStatus]}</span>` : html`<span class="muted">—</span>`
    }</td>
    <td role="cell" data-label="Modified">${timeTag(asset.dateModified)}</td>
    <td role="cell" class="actions-cell" data-label=""><div class="actions">
      <a href="/dashboard/preview?source=${asset.sourceId}&amp;path=${encodeURIComponent(asset.originPath)}">Preview<span class="visually-hidden"> ${asset.originPath}</span></a>
      <form method="post" action="/dashboard/asset-manager/refresh" class="inline">
        ${csrfField(view.csrfToken)}
        <input type="hidden" name="source" value="${asset.sourceId}">
        <input type="hidden" name="path" value="${asset.originPath}">
        <input type="hidden" name="back" value="${back}">
        <button type="submit" class="small">Refresh<span class="visually-hidden"> ${asset.originPath}</span></button>
      </form>
    </div></td>
  </tr>`,
  )}
  </tbody>
</table>
</div>`
    : ''
}
${
  view.paged || view.next
    ? html`<nav class="pager" aria-label="Pages">
  ${view.paged ? html`<a href="${back}">← First page</a>` : html`<span></span>`}
  <span></span>
  ${view.next ? html`<a href="${assetsLink(filters, view.next)}" rel="next">Next →</a>` : html`<span></span>`}
</nav>`
    : ''
}`;
}
