/**
 * The gallery's HTML: one self-contained page (inline CSS, no script, relative links) that works when
 * opened from disk.
 */
import type { GalleryEntry } from './build.ts';
import type { GalleryFamily } from './families.ts';

/** Longer text responses are cut on the page; the whole body is linked beside it. */
const MAX_TEXT_CHARS = 2500;

export function renderPage(families: readonly GalleryFamily[], entries: readonly GalleryEntry[]): string {
  const failed = entries.filter((entry) => entry.status !== 200).length;
  const notApplied = entries.filter((entry) => entry.notApplied).length;
  const nav = families
    .map((family) => {
      const own = entries.filter((entry) => entry.familyId === family.id);
      const bad = own.filter((entry) => entry.status !== 200).length;
      const unapplied = own.filter((entry) => entry.notApplied).length;
      const notes = [bad ? `${bad} failed` : '', unapplied ? `${unapplied} not applied` : ''].filter(Boolean).join(', ');
      const cls = bad ? ' class="bad"' : unapplied ? ' class="warn"' : '';
      return `<a href="#${family.id}"${cls}>${escape(family.title)}${notes ? ` (${notes})` : ''}</a>`;
    })
    .join('\n');
  const sections = families.map((family) => renderFamily(family, entries.filter((entry) => entry.familyId === family.id))).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pictor reference gallery</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Pictor reference gallery</h1>
<p>One or more samples per parameter family, rendered by a real Pictor over HTTP. Each URL is relative to a
render listener serving the gallery's sample files. A light checkerboard behind an image shows its
transparent pixels. ${entries.length} responses: <span class="${failed ? 'bad' : 'good'}">${failed} not 200</span>,
<span class="${notApplied ? 'warn' : 'good'}">${notApplied} naming a parameter not applied</span> (X-Pictor-Unsupported
outside <i>Fallbacks</i>).</p>
<nav>${nav}</nav>
</header>
${sections}
</body>
</html>
`;
}

function renderFamily(family: GalleryFamily, entries: readonly GalleryEntry[]): string {
  return `<section id="${family.id}" data-family="${family.id}">
<h2>${escape(family.title)}</h2>
<div class="grid">
${entries.map(renderEntry).join('\n')}
</div>
</section>`;
}

function renderEntry(entry: GalleryEntry): string {
  const ok = entry.status === 200;
  const shown = ok && entry.contentType.startsWith('image/') ? `<div class="frame"><img src="${escape(entry.file)}" alt="${escape(entry.caption)}"></div>` : renderText(entry);
  const status = entry.status === 0 ? 'no response' : String(entry.status);
  const meta = [`<span class="status">${status}</span>`, escape(entry.contentType || '—'), formatBytes(entry.bytes)];
  if (entry.file) meta.push(`<a href="${escape(entry.file)}">file</a>`);
  const unsupported = entry.unsupported ? `<p class="unsupported">X-Pictor-Unsupported: <code>${escape(entry.unsupported)}</code></p>` : '';
  const state = !ok ? 'failed' : entry.notApplied ? 'unapplied' : 'ok';
  return `<figure class="${state}" data-status="${entry.status}">
${shown}
<figcaption>
<p class="caption">${escape(entry.caption)}</p>
<code class="url">${escape(entry.displayUrl)}</code>
<p class="meta">${meta.join(' · ')}</p>
${unsupported}
</figcaption>
</figure>`;
}

function renderText(entry: GalleryEntry): string {
  const text = entry.text ?? '';
  const cut = text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}\n… (${text.length - MAX_TEXT_CHARS} more characters in the file)` : text;
  return `<pre>${escape(cut)}</pre>`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 48px; color: #1b1f24; background: #fafbfc; }
header { position: sticky; top: 0; background: #fafbfc; padding: 8px 0; border-bottom: 1px solid #d0d7de; z-index: 1; }
h1 { margin: 8px 0 4px; font-size: 22px; }
header p { margin: 0 0 8px; max-width: 70em; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: #0550ae; text-decoration: none; }
h2 { margin: 28px 0 10px; font-size: 18px; scroll-margin-top: 120px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 14px; }
figure { margin: 0; padding: 10px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; display: flex; flex-direction: column; gap: 8px; }
figure.failed { border: 2px solid #cf222e; background: #fff5f5; }
figure.unapplied { border: 2px solid #d4a72c; }
.frame { display: flex; align-items: center; justify-content: center; min-height: 120px;
  background: repeating-conic-gradient(#eef0f3 0% 25%, #fff 0% 50%) 0 0 / 16px 16px; }
.frame img { max-width: 100%; max-height: 340px; display: block; }
pre { margin: 0; max-height: 340px; overflow: auto; font-size: 12px; background: #f3f4f6; padding: 8px; white-space: pre-wrap; word-break: break-all; }
figure.failed pre { background: #ffe3e3; color: #82071e; }
figcaption p { margin: 0; }
.caption { font-weight: 600; }
code.url { display: block; font-size: 12px; background: #f3f4f6; padding: 4px 6px; border-radius: 4px; word-break: break-all; user-select: all; }
.meta { color: #57606a; font-size: 12px; }
.status { font-weight: 600; color: #1a7f37; }
figure.failed .status, .bad { color: #cf222e; font-weight: 600; }
.good { color: #1a7f37; }
.unsupported { font-size: 12px; color: #9a6700; }
.warn { color: #9a6700; font-weight: 600; }
`;
