/** The markdown report: machine, versions, summary, one section per scenario, commands. */
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
];

/**
 * Writes a separate run's report into its notes block of `file`, leaving the rest as it is; a section
 * missing from an older file is added before the commands.
 */
export function writeSeparateRun(file: string, id: string, text: string): void {
  const run = SEPARATE_RUNS.find((entry) => entry.id === id);
  if (!run) throw new Error(`no separate run ${id}`);
  const block = `<!-- notes:${id} -->\n${text.trim()}\n<!-- /notes:${id} -->`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const existing = new RegExp(`<!-- notes:${id} -->\\n[\\s\\S]*?\\n<!-- /notes:${id} -->`);
  let next: string;
  if (existing.test(current)) next = current.replace(existing, () => block);
  else if (current.includes('\n## Commands\n')) next = current.replace('\n## Commands\n', () => `\n## ${run.title}\n\n${block}\n\n## Commands\n`);
  else next = `${current}\n## ${run.title}\n\n${block}\n`;
  writeFileSync(file, next);
}

const NOTES_PLACEHOLDER = '_Interpretation by the optimising engineer: what changed in `src/` and why the numbers moved (kept across regenerations)._';

export function render(options: {
  date: string;
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
  out.push(`Generated by \`npm run bench\` (bench/run.ts) on ${options.date}; the whole run took ${(options.seconds / 60).toFixed(1)} min. Re-run with \`npm run bench\`: it rewrites this file and keeps the notes blocks.`, '');
  out.push('## Machine', '', table(['', ''], options.machine), '');
  out.push('## Versions', '', table(['', ''], options.versions), '');
  out.push('## Summary', '');
  const rows = options.results.flatMap((r) => r.verdicts.map((v) => [r.id, r.title, v.label, v.value, v.target, verdictText(v.pass)]));
  out.push(table(['#', 'Scenario', 'Measure', 'Result', 'Target', ''], rows), '');
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
  return out.join('\n');
}
