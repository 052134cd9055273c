import fs from 'node:fs';
import type { StartedPictor } from '../app.ts';
import type { PictorOptions } from '../config/options.ts';
import { nodeSupportNotice } from '../node-support.ts';
import { cliInvocation } from './invocation.ts';

/** Image files a sample URL may name; the bundled sample first. */
const SAMPLE_FIRST = 'sunset.jpg';
const IMAGE_FILE = /\.(jpe?g|png|webp|avif|gif|tiff?)$/i;

/** What `pictor serve` prints once it is up: where it serves, what it may reach, and the way in (on stderr). */
export function banner(options: PictorOptions, started: StartedPictor): string[] {
  const sample = sampleImage(options.assetsDir);
  const { renderUrl } = started;
  const tryUrl = sample ? `${renderUrl}/${encodeURIComponent(sample)}?w=600` : `put an image in ${options.assetsDir}, then open ${renderUrl}/<its name>`;
  const lines = [
    '',
    `  Pictor is serving ${options.assetsDir}`,
    `  Render URL:   ${started.renderUrl}/`,
    `  Try:          ${tryUrl}`,
    `  Admin URL:    ${started.adminUrl}/`,
    `  Dashboard:    ${started.adminUrl}/dashboard/`,
    `  Folder roots: ${options.folderRoots.join(', ')} (folder Sources may serve from these; --folder-root adds one)`,
    `  Outbound:     ${outboundLine(options.outboundAllow)}`,
    `  Video:        ${started.video}`,
  ];
  const notice = nodeSupportNotice();
  if (notice) lines.push('', `  ${notice}`);
  return [...lines, ...credentialLines(options, started)];
}

function outboundLine(allow: readonly string[]): string {
  const refused = 'origin fetches to loopback, private, link-local and metadata addresses are refused';
  return allow.length === 0 ? `${refused} (--outbound-allow lets some through)` : `${refused}, except ${allow.join(', ')} (--outbound-allow)`;
}

/**
 * The first admin API key and dashboard password when this start created them (shown once: they are stored
 * only as hashes), and always the commands that make new ones, against this node's store.
 */
function credentialLines(options: PictorOptions, started: StartedPictor): string[] {
  const lines: string[] = [];
  if (started.firstApiKey) {
    lines.push('', '  An admin API key was created on this first start. It is shown only once; keep it safe:', `  API key: ${started.firstApiKey}`);
  }
  if (started.firstAdminPassword) {
    const password = `  Dashboard password: ${started.firstAdminPassword}`;
    lines.push('', '  The dashboard account "admin" was created with this password, shown only once:', password);
  }
  const cli = cliInvocation();
  const storeFlag = options.databaseUrl === undefined ? ` --data ${shellWord(options.dataDir)}` : '';
  const where = options.databaseUrl === undefined ? '' : ' (with PICTOR_DATABASE_URL set as for this server)';
  const lost = started.firstApiKey && started.firstAdminPassword ? 'Lost them later?' : 'No admin API key or dashboard password at hand?';
  lines.push(
    '',
    `  ${lost} Make new ones${where}:`,
    `    ${cli} keys create --name NAME --permissions admin${storeFlag}`,
    `    ${cli} admin set-password${storeFlag}`,
  );
  return lines;
}

/** The first image at the top of the assets folder (the bundled sample when it is there), or undefined. */
function sampleImage(assetsDir: string): string | undefined {
  let names: string[];
  try {
    const entries = fs.readdirSync(assetsDir, { withFileTypes: true });
    names = entries.filter((entry) => entry.isFile() && IMAGE_FILE.test(entry.name)).map((entry) => entry.name);
  } catch {
    return undefined;
  }
  return names.includes(SAMPLE_FIRST) ? SAMPLE_FIRST : names.sort()[0];
}

/** A path as one shell word: quoted only when it needs to be. */
function shellWord(value: string): string {
  return /^[\w./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

