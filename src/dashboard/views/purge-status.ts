import type { EdgePurgeState } from '../../store/edge-purge-store.ts';
import type { PurgeRecord } from '../../store/purge-log.ts';
import { purgeWarning } from '../../purge/purge-warning.ts';
import { videoPurgeNotice } from '../../video/purge-notice.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formatDuration, formatTime } from './format.ts';

/** A purge as the dashboard shows it; also the JSON the page script polls (the same wording either way). */
export interface PurgeSummary {
  id: string;
  status: PurgeRecord['status'];
  done: boolean;
  /** What was purged, in words: the exact URL, everything under a folder, the assets carrying a tag, or a whole Source. */
  target: string;
  statusLabel: string;
  createdAt: string;
  createdLabel: string;
  completedAt: string | null;
  completedLabel: string;
  /** completed_at − created_at. */
  durationMs: number | null;
  durationLabel: string;
  origin: PurgeRecord['origin'] | null;
  originLabel: string;
  /** Cached entries of the asset the purge removed (exact purges). */
  matched: number | null;
  matchedLabel: string;
  /** What to do next, when the purge could not change what is served or cannot have been meant. */
  advice: string;
  error: string;
  requestedBy: string;
  /** Each edge's part: name, kind, state, the CDN's purge id, the last error and the tries, in words. */
  edgesLabel: string;
  /** A purge of a video: what it did not clear, and the asset to refresh (see video/purge-notice.ts). */
  video: { notice: string; sourceId: string; path: string } | null;
}

const ORIGIN_LABELS: Record<Exclude<PurgeRecord['origin'], 'unknown' | undefined>, string> = {
  removed: 'removed — the origin no longer has the file; it is now answered with 404.',
  replaced: 'replaced — the origin has new bytes; the new version is served from now on.',
  unchanged: 'unchanged — the origin still has the same file.',
};

export const UNCHANGED_ADVICE =
  'Change or remove the file at the origin first, then purge again: a purge empties the caches, but the origin still serves the same file (its derivatives are rendered again anyway).';

export function purgeTarget(record: PurgeRecord, sourceName: string | undefined): string {
  if (record.match === 'tag') {
    const where = record.sourceId ? ` of the Source ${sourceName ? `"${sourceName}" ` : ''}(${record.sourceId})` : ' of every Source';
    return `Every asset tagged "${record.tag ?? ''}"${where}: ${record.assets === 1 ? '1 asset' : `${record.assets ?? 0} assets`}`;
  }
  if (record.match === 'source') return `Everything cached for the Source ${sourceName ? `"${sourceName}" ` : ''}(${record.sourceId})`;
  if (record.match === 'prefix') {
    let origin = '';
    try {
      origin = new URL(record.url).origin;
    } catch {
      // shown without its origin
    }
    return `Everything under ${origin}${record.path}`;
  }
  return record.url;
}

export function summarizePurge(record: PurgeRecord, sourceName?: string, edgeStates: readonly EdgePurgeState[] = []): PurgeSummary {
  const done = record.status !== 'pending';
  const notice = videoPurgeNotice(record);
  const durationMs = record.completedAt === undefined ? null : record.completedAt - record.createdAt;
  let originLabel: string;
  if (record.origin === 'unknown') {
    originLabel = `unknown — the origin could not be asked (${record.originError ?? 'no answer'}); the purge took effect all the same.`;
  }
  else if (record.origin) originLabel = ORIGIN_LABELS[record.origin];
  else if (record.status === 'pending') originLabel = 'waiting for the purge to run…';
  else if (record.match !== 'exact') originLabel = 'not asked: prefix, tag and whole-Source purges do not check single files.';
  else originLabel = '—';
  let matchedLabel: string;
  if (record.matched !== undefined) matchedLabel = record.matched === 1 ? '1 cached file' : `${record.matched} cached files`;
  else if (record.status === 'pending') matchedLabel = 'waiting for the purge to run…';
  else if (record.match !== 'exact') matchedLabel = 'not counted for prefix and whole-Source purges.';
  else matchedLabel = '—';
  if (record.match === 'tag' && record.matched !== undefined) matchedLabel += ', of the tagged assets, on the node that accepted the purge';
  return {
    id: record.id,
    status: record.status,
    done,
    target: purgeTarget(record, sourceName),
    statusLabel: record.status === 'pending' ? 'Pending…' : record.status === 'completed' ? 'Completed' : 'Failed',
    createdAt: new Date(record.createdAt).toISOString(),
    createdLabel: formatTime(record.createdAt),
    completedAt: record.completedAt === undefined ? null : new Date(record.completedAt).toISOString(),
    completedLabel: record.completedAt === undefined ? '—' : formatTime(record.completedAt),
    durationMs,
    durationLabel: durationMs === null ? '—' : formatDuration(durationMs),
    origin: record.origin ?? null,
    originLabel,
    matched: record.matched ?? null,
    matchedLabel,
    advice: record.origin === 'unchanged' ? UNCHANGED_ADVICE : (purgeWarning(record) ?? ''),
    error: record.error ?? '',
    requestedBy: record.requestedBy ?? '—',
    edgesLabel: edgesLabel(edgeStates),
    video: notice ? { notice: notice.message, sourceId: record.sourceId, path: record.path } : null,
  };
}

/** `edge-1 (varnish): purged; cdn (cloudfront): pending, invalidation I2J0, 2 tries, last error: answered 503`. */
function edgesLabel(states: readonly EdgePurgeState[]): string {
  if (states.length === 0) return 'none registered';
  return states
    .map((state) => {
      const details = [
        state.state.replaceAll('_', ' '),
        ...(state.vendorId ? [`purge ${state.vendorId}`] : []),
        ...(state.attempts > 1 ? [`${state.attempts} tries`] : []),
        ...(state.lastError ? [`last error: ${state.lastError}`] : []),
      ];
      return `${state.edge} (${state.kind}): ${details.join(', ')}`;
    })
    .join('; ');
}

/**
 * The live status of one purge. The page script polls `/dashboard/purges/<id>/status` and fills the
 * `data-field` elements until the purge is done; the region is `aria-live`, so the outcome is announced.
 */
export function purgeStatusPanel(summary: PurgeSummary, csrfToken: string): SafeHtml {
  return html`<section class="card purge-status" aria-labelledby="purge-status-title" data-purge-status="/dashboard/purges/${summary.id}/status" data-status="${summary.status}">
  <h2 id="purge-status-title">Purge status</h2>
  <div aria-live="polite" aria-atomic="false">
  <dl class="facts">
    <dt>Purged</dt><dd><code class="wrap" data-field="target">${summary.target}</code></dd>
    <dt>Status</dt><dd><strong data-field="statusLabel">${summary.statusLabel}</strong></dd>
    <dt>Requested</dt><dd><time datetime="${summary.createdAt}">${summary.createdLabel}</time> by <span data-field="requestedBy">${summary.requestedBy}</span></dd>
    <dt>Completed</dt><dd data-field="completedLabel">${summary.completedLabel}</dd>
    <dt>Took</dt><dd data-field="durationLabel">${summary.durationLabel}</dd>
    <dt>Origin</dt><dd data-field="originLabel">${summary.originLabel}</dd>
    <dt>Removed</dt><dd data-field="matchedLabel">${summary.matchedLabel}</dd>
    <dt>Edges</dt><dd data-field="edgesLabel">${summary.edgesLabel}</dd>
  </dl>
  <p class="alert warning" data-field="advice"${summary.advice ? '' : html` hidden`}>${summary.advice}</p>
  <p class="alert error" data-field="error"${summary.error ? '' : html` hidden`}>${summary.error}</p>
  </div>
  ${summary.video
    ? html`<div class="alert warning" role="note"><p>${summary.video.notice}</p>
  <form method="post" action="/dashboard/asset-manager/refresh">
    ${csrfField(csrfToken)}
    <input type="hidden" name="source" value="${summary.video.sourceId}">
    <input type="hidden" name="path" value="${summary.video.path}">
    <button type="submit">Refresh the video</button>
  </form></div>`
    : ''}
  <noscript><p><a href="?purge=${summary.id}">Reload</a> to see the latest status.</p></noscript>
  <p class="hint">Purge id <code>${summary.id}</code></p>
</section>`;
}
