import { html, type SafeHtml } from '../html.ts';

/** `<time>` in UTC, e.g. 2026-11-28 10:00:00 UTC (the `datetime` attribute keeps the milliseconds). */
export function timeTag(ms: number | undefined): SafeHtml {
  if (ms === undefined) return html`<span class="muted">—</span>`;
  return html`<time datetime="${new Date(ms).toISOString()}">${formatTime(ms)}</time>`;
}

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
