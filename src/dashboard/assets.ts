import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** `/dashboard/assets/<name>?v=<hash>`: cached for a year, a new version is a new URL. */
  url: string;
}

const FILES: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/**
 * The dashboard's static files, read once at start. They live in `src/dashboard/assets/`; a build (`dist/`)
 * compiles only TypeScript, so from `dist/dashboard/` they are found in the sources next to it.
 */
export function loadAssets(): Map<string, Asset> {
  const directory = [new URL('./assets/', import.meta.url), new URL('../../src/dashboard/assets/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((candidate) => fs.existsSync(`${candidate}dashboard.css`));
  if (directory === undefined) throw new Error('the dashboard assets (src/dashboard/assets) are missing');
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = fs.readFileSync(`${directory}${name}`);
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
    assets.set(name, { body, contentType, url: `/dashboard/assets/${name}?v=${version}` });
  }
  return assets;
}
