/**
 * The markdown report: the capacity a user plans with and where each target comes from, then machine,
 * versions, summary, one section per scenario, the separate runs and the commands.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { run } from './proc.ts';
import { REPO } from './pictor.ts';
import { table, verdictText, type ScenarioResult } from './scenario.ts';
import { median } from './stats.ts';

/** Median time of a 4 KiB write + fsync in `dir`: what every durable SQLite commit pays at least. */
function fsyncMs(dir: string): number {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      writeSync(fd, Buffer.alloc(4096, i), 0, 4096, 0);
      fsyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file);
  }
  return median(times);
}

export async function machine(dir: string): Promise<string[][]> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const nproc = (await run('nproc', [])).output.trim();
  const os = /^PRETTY_NAME="(.+)"$/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1] ?? 'unknown';
  return [
    ['nproc', nproc],
    ['CPU', model],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', os],
    ['load average before the run (1/5/15 min)', readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ')],
    ['4 KiB write + fsync in the temp dir (median of 50)', `${fsyncMs(dir).toFixed(2)} ms`],
  ];
}

export async function versions(): Promise<string[][]> {
  const sharp = (await import('sharp')).default;
  const ipx = JSON.parse(readFileSync(`${REPO}/node_modules/ipx/package.json`, 'utf8')) as { version: string };
  const nginx = /nginx\/(\S+)/.exec((await run('nginx', ['-v'])).output)?.[1] ?? '?';
  const wrk = /wrk (\S+)/.exec((await run('wrk', ['-v'])).output)?.[1] ?? '?';
  const pictor = JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string };
  const commit = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO })).output.trim();
  const dirty = (await run('git', ['status', '--porcelain', 'src'], { cwd: REPO })).output.trim() ? ' + uncommitted changes in src/' : '';
  return [
    ['Pictor', `${pictor.version} (${commit}${dirty}), run from dist/`],
    ['node', process.version],
    ['sharp', sharp.versions.sharp ?? '?'],
    ['libvips', sharp.versions.vips],
    ['ipx', ipx.version],
    ['nginx', nginx],
    ['wrk', wrk],
  ];
}

/** The commit a measurement is taken on (short hash; "+" when src/ has uncommitted changes) and when. */
export interface Measured {
  commit: string;
  date: string;
}

export function measuredOn(): Measured {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', 'src') ? '+' : '';
  return { commit: `${git('rev-parse', '--short', 'HEAD')}${dirty}`, date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
}

/**
 * The figures a user plans capacity with, one row each, in the order of the table. Each comes from one run
 * (`from`), which stores its values in the report as a `<!-- figures … -->` comment with the commit and date
 * it measured them on, so that whichever run writes the file last can rebuild the whole table.
 */
const CAPACITY = [
  { key: 'cold', measure: 'Cold renders (distinct derivatives of a 2000×1333 photo, widths 100–2000 px, JPEG/WebP/AVIF, 8 at a time)', from: 'scenario 1', command: 'npm run bench' },
  { key: 'hits', measure: 'Cache hits (one 16 KB derivative from memory, 64 connections, the server on one core)', from: 'scenario 2', command: 'npm run bench' },
  { key: 'purge', measure: 'Purge POST → `completed`, one node on SQLite', from: 'scenario 4', command: 'npm run bench' },
  { key: 'purge-cluster', measure: 'Purge POST → `completed`, 3 nodes on PostgreSQL and 2 Varnish edges', from: 'the cluster run', command: 'npm run bench:cluster' },
  { key: 'memory-steady', measure: 'Memory, steady: resident set under 5 minutes of mixed traffic (small cache tiers)', from: 'the soak', command: 'npm run soak' },
  { key: 'memory-peak', measure: 'Memory, peak: renders of a 36-megapixel JPEG, 8 at a time', from: 'scenario 7', command: 'npm run bench' },
  { key: 'families', measure: 'Rendering families: text, mask, 20-frame GIF, faces, PDF page (renders/s each, in process)', from: 'the rendering run', command: 'npm run bench:rendering' },
] as const;

export type CapacityKey = (typeof CAPACITY)[number]['key'];

/** One capacity figure: what was measured, and what it is against (a peer, a target). */
export interface CapacityFigure {
  value: string;
  against: string;
}

export interface Figures extends Measured {
  values: Partial<Record<CapacityKey, CapacityFigure>>;
}

/** The comment a run leaves in its part of the report. */
export function figuresComment(figures: Figures): string {
  return `<!-- figures ${JSON.stringify(figures)} -->`;
}

/**
 * Where each target comes from. The targets themselves are in the scenarios and the separate runs (the
 * Summary and each section give them with the result); this says why they are what they are.
 */
const TARGETS = [
  ['Cold renders ≥ 1.3× ipx (or CPU per render ≤ 1.1× the encoders\' own for the same outputs) and ≥ 1.0× a naive sharp loop', 'The peers and the floor. ipx is the Node image server a Pictor user would otherwise run, on the same sharp and libvips, so the ratio isolates the server; the naive loop (decode, resize, encode, nothing else) is the floor a server with caches and HTTP must not fall below. Both at the same encoder settings; the encoders\' own CPU (bench/peers/encoder-floor.ts) is what no server can go below.'],
  ['Cache hits ≥ 0.8× nginx and ≥ 0.9× a bare Node http server, p99 ≤ 5 ms', 'nginx serving the same bytes as a static file with one worker is what the machine allows; a bare Node http server writing the same bytes from memory is what the runtime allows. A hit should cost little beyond writing its answer.'],
  ['64 identical misses → exactly 1 render, in about the time of one (≤ 1.5×)', 'The architecture\'s render flow: misses for one derivative are coalesced by (key, generation).'],
  ['Purge POST → `completed` p99 ≤ 50 ms across the cluster (3 nodes, 2 edges); on one node p99 ≤ 10 ms over ≥ 1,000 purges', 'imgix documents no completion time: its purge API answers 200 on receipt ("this does not mean that the purge has completed yet") and purges "typically complete … quickly"; Fastly purges in about 150 ms, Cloudflare at a P50 under 150 ms, globally. Pictor reports completion and holds it to 50 ms across a cluster, and to 10 ms on one node, whose floor is one fsync.'],
  ['10,000 cached derivatives purge in ≤ 2× the time of 1', 'The architecture\'s cost invariant: a purge is O(1) in cached derivatives (one generation bump; files are deleted afterwards, in the background).'],
  ['≥ 1,000 purges accepted per second, each durable, on SQLite and on PostgreSQL', 'Pictor\'s own target for one node: a purge is acknowledged only once it is on disk (the durability invariant), so this is what group commit must reach with an fsync per batch.'],
  ['Renders during 100 purges/s ≥ 0.8× renders without; cold renders while a video encodes ≥ 0.7×', 'Pictor\'s own targets: purges of other assets and video encodes (at the lowest CPU priority) must not starve image renders.'],
  ['Peak RSS ≤ 300 MB (a storm of 36-megapixel renders; a large animated GIF)', 'The architecture\'s safety invariant (memory per request is bounded), set at 300 MB against the published figures of imgproxy (194 MB), thumbor (461 MB) and imaginary (562 MB).'],
];

/** Rebuilds the capacity section of `text` (between its markers) from the figures comments in it. */
export function withCapacity(text: string): string {
  const found = new Map<string, { figure: CapacityFigure; measured: Measured }>();
  for (const match of text.matchAll(/<!-- figures (\{.*?\}) -->/g)) {
    const figures = JSON.parse(match[1]!) as Figures;
    for (const [key, figure] of Object.entries(figures.values)) found.set(key, { figure: figure!, measured: figures });
  }
  const rows = CAPACITY.map(({ key, measure, from, command }) => {
    const entry = found.get(key);
    if (!entry) return [measure, `_not measured yet: \`${command}\`_`, '', from];
    return [measure, entry.figure.value, entry.figure.against, `${from}: ${entry.measured.commit}, ${entry.measured.date.slice(0, 10)}`];
  });
  const section = [
    '<!-- capacity -->',
    '## Capacity on this machine',
    '',
    'What one Pictor node does on this 2-core machine (the figures a deployment is planned with), each from the run and the commit it was measured on; the sections below give the method, the spread over rounds and a reading of each.',
    '',
    table(['What', 'Pictor', 'Against', 'Measured in, on'], rows),
    '',
    '## Targets and where they come from',
    '',
    table(['Target', 'Where it comes from'], TARGETS),
    '<!-- /capacity -->',
  ].join('\n');
  const existing = /<!-- capacity -->\n[\s\S]*?<!-- \/capacity -->/;
  if (existing.test(text)) return text.replace(existing, () => section);
  // An older file: the section goes after the title and the line under it.
  const firstSection = text.indexOf('\n## ');
  return firstSection < 0 ? `${text}\n${section}\n` : `${text.slice(0, firstSection)}\n${section}\n${text.slice(firstSection)}`;
}

/** Notes blocks written by hand into BENCHMARKS.md survive a regeneration. */
export function previousNotes(file: string): Map<string, string> {
  const notes = new Map<string, string>();
  if (!existsSync(file)) return notes;
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/<!-- notes:(\w+) -->\n([\s\S]*?)\n<!-- \/notes:\1 -->/g)) notes.set(match[1]!, match[2]!);
  return notes;
}

/**
 * Runs of their own (too long, or measuring limits rather than speed), whose reports are pasted into notes
 * blocks of these sections and so survive a regeneration like the scenarios' notes.
 */
const SEPARATE_RUNS = [
  { id: 'soak', title: 'Soak: memory and correctness under mixed traffic', command: 'npm run soak' },
  { id: 'worst', title: 'The most expensive anonymous requests', command: 'npm run bench:worst' },
  { id: 'scale', title: 'Costs as the data grows', command: 'npm run bench:sources && npm run bench:scale' },
  { id: 'cluster', title: 'A cluster: three nodes on PostgreSQL behind two Varnish edges', command: 'npm run bench:cluster' },
  { id: 'video', title: 'Video: time to first playable HLS, and image renders while a video encodes', command: 'npm run bench:video' },
  { id: 'rendering', title: 'Rendering families', command: 'npm run bench:rendering' },
  { id: 'edges', title: 'Purges through a Varnish and an nginx edge', command: 'npm run bench:edges' },
];

/**
 * Writes a separate run's report into its notes block of `file`, stamped with the commit and date it was
 * measured on (and its capacity figures, if any), leaving the rest as it is; a section missing from an older
 * file is added before the commands. The capacity table is rebuilt with the new figures.
 */
export function writeSeparateRun(file: string, id: string, text: string, measured: Measured, values: Figures['values'] = {}): void {
  const run = SEPARATE_RUNS.find((entry) => entry.id === id);
  if (!run) throw new Error(`no separate run ${id}`);
  const stamp = `_Measured on Pictor ${measured.commit}, ${measured.date}, by \`${run.command}\`._`;
  const figures = Object.keys(values).length ? `\n${figuresComment({ ...measured, values })}` : '';
  const block = `<!-- notes:${id} -->\n${stamp}${figures}\n\n${text.trim()}\n<!-- /notes:${id} -->`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const existing = new RegExp(`<!-- notes:${id} -->\\n[\\s\\S]*?\\n<!-- /notes:${id} -->`);
  let next: string;
  if (existing.test(current)) next = current.replace(existing, () => block);
  else if (current.includes('\n## Commands\n')) next = current.replace('\n## Commands\n', () => `\n## ${run.title}\n\n${block}\n\n## Commands\n`);
  else next = `${current}\n## ${run.title}\n\n${block}\n`;
  writeFileSync(file, withCapacity(next));
}

const NOTES_PLACEHOLDER = '_Interpretation by the optimising engineer: what changed in `src/` and why the numbers moved (kept across regenerations)._';

export function render(options: {
  measured: Measured;
  seconds: number;
  machine: string[][];
  versions: string[][];
  method: string[];
  results: ScenarioResult[];
  failures: string[];
  notes: Map<string, string>;
  /** Share of the machine used by other processes during the whole run. */
  otherShare: number;
  /** Commands run before the scenarios (install, build, the bench itself). */
  setup: string[];
}): string {
  const out: string[] = [];
  out.push('# Pictor benchmarks', '');
  out.push(`Generated by \`npm run bench\` (bench/run.ts) from Pictor ${options.measured.commit} on ${options.measured.date}; the whole run took ${(options.seconds / 60).toFixed(1)} min. The sections after the scenarios come from runs of their own, each stamped with the commit it measured. \`npm run bench\` rewrites this file and keeps those sections and the notes blocks.`, '');
  out.push('## Machine', '', table(['', ''], options.machine), '');
  out.push('## Versions', '', table(['', ''], options.versions), '');
  out.push('## Summary', '');
  const rows = options.results.flatMap((r) => r.verdicts.map((v) => [r.id, r.title, v.label, v.value, v.target, verdictText(v.pass)]));
  out.push(table(['#', 'Scenario', 'Measure', 'Result', 'Target', ''], rows), '');
  const values = Object.assign({}, ...options.results.map((r) => r.capacity ?? {})) as Figures['values'];
  out.push(figuresComment({ ...options.measured, values }), '');
  if (options.otherShare > 0.1) {
    out.push(`> **Caution:** processes the bench did not start used ${(options.otherShare * 100).toFixed(0)} % of the machine during this run (see "other work" in the tables). Interleaving keeps the ratios fair only while that load is steady; re-run on a quieter machine before acting on a close result.`, '');
  }
  if (options.failures.length) out.push('**Scenarios that failed to run:**', '', ...options.failures.map((f) => `- ${f}`), '');
  out.push('## Method', '', ...options.method, '');
  for (const r of options.results) {
    out.push(`## ${r.id}. ${r.title}`, '');
    const others = r.topOthers ? ` (largest: ${r.topOthers})` : '';
    out.push(`Compared with: ${r.comparedWith}. Took ${r.seconds.toFixed(0)} s, while processes the bench did not start used ${(r.otherShare * 100).toFixed(0)} % of the machine${others}.`, '');
    out.push(table(['Measure', 'Result', 'Target', ''], r.verdicts.map((v) => [v.label, v.value, v.target, verdictText(v.pass)])), '');
    for (const block of r.body) out.push(block, '');
    const provisional = r.otherShare > 0.2 ? `_Measured while other processes used ${(r.otherShare * 100).toFixed(0)} % of the machine: provisional until re-run on a quiet machine._ ` : '';
    out.push(`**Reading.** ${provisional}${r.reading.trim()}`, '');
    out.push(`<!-- notes:${r.id} -->`, options.notes.get(r.id) ?? NOTES_PLACEHOLDER, `<!-- /notes:${r.id} -->`, '');
  }
  for (const run of SEPARATE_RUNS) {
    out.push(`## ${run.title}`, '', `<!-- notes:${run.id} -->`, options.notes.get(run.id) ?? `_Not measured yet: run \`${run.command}\` and paste its report here._`, `<!-- /notes:${run.id} -->`, '');
  }
  out.push('## Commands', '', '```sh', ...options.setup, '```', '', 'Inside the run, exactly as run (temp paths and ports vary per run; one line per kind):', '', '```sh');
  for (const r of options.results) out.push(`# ${r.id}. ${r.title}`, ...new Set(r.commands));
  out.push('```', '');
  return withCapacity(out.join('\n'));
}
