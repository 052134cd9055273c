/**
 * `npm run bench`: builds Pictor, installs what the peers need, generates the test images, runs every
 * scenario in bench/scenarios/ against 127.0.0.1 only, stops everything it started, and prints the
 * markdown report (also written to BENCHMARKS.md).
 *
 * BENCH_QUICK=1 shortens every round (to check the instrument, not to measure);
 * BENCH_ONLY=1,3 runs only those scenarios. Either leaves BENCHMARKS.md alone (the report goes to stdout only).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuWindow } from './lib/cpu.ts';
import { photoJpeg, tinyPng } from './lib/images.ts';
import { REPO } from './lib/pictor.ts';
import { killAll, run, runToTheEnd } from './lib/proc.ts';
import { machine, measuredOn, previousNotes, render, versions } from './lib/report.ts';
import type { Context, Scenario, ScenarioResult } from './lib/scenario.ts';
import { s1 } from './scenarios/s1-cold.ts';
import { s2 } from './scenarios/s2-hit.ts';
import { s3 } from './scenarios/s3-stampede.ts';
import { s4 } from './scenarios/s4-purge-latency.ts';
import { s5 } from './scenarios/s5-purge-throughput.ts';
import { s6 } from './scenarios/s6-renders-under-purges.ts';
import { s7 } from './scenarios/s7-memory.ts';
import { s8 } from './scenarios/s8-webhook-latency.ts';

const SCENARIOS: Scenario[] = [s1, s2, s3, s4, s5, s6, s7, s8];
const REPORT = join(REPO, 'BENCHMARKS.md');
/** The whole run must finish within 10 minutes; adaptive scenarios plan against this, with a margin. */
const LIMIT_SECONDS = 570;

const METHOD = [
  '- Everything runs on this one machine against 127.0.0.1; the load generator (wrk, one thread) shares the two cores with the server under test, the same for every contender.',
  '- Each server is its own process: Pictor from `dist/` (`node dist/cli/index.js serve …`, default render concurrency, a fresh data directory per scenario), ipx 3.1.1 in a small Node server (`bench/peers/ipx-server.ts`), nginx with one worker; the naive sharp loop runs in a child process.',
  '- Every comparison is a ratio measured in the same run: contenders are interleaved (A, B, A, B, …), the ratio is taken per round, and the tables show the median over rounds with the spread (min–max).',
  '- After each timed window the bench waits until the server is idle again (wrk abandons the requests still running, the server finishes them), so leftover work never lands in the next contender\'s window.',
  '- Pictor and ipx use the same sharp (0.35.5, forced for ipx by an npm `overrides` entry) and libvips. Pictor encodes progressive JPEG (imgix\'s default), WebP at sharp\'s defaults and AVIF at effort 1 (libaom speed 8, imgproxy\'s default), all at the URL\'s `q`; ipx and the naive loop are run with the same settings ("encoder parity"; ipx through its `sharpOptions`: `heifEffort: 1`). ipx as shipped (AVIF effort 4) is only shown in an encoder check.',
  '- CPU accounting from /proc: the CPU time of each server\'s processes gives CPU per render or per request (a cross-check that hardly depends on other load), and "other work" is the share of both cores used by processes the bench did not start (other people\'s builds and tests on a shared machine). A round with high or uneven other work is not a fair pair.',
  '- Test images are generated with sharp at bench time: "photographic" JPEGs (gradients, blurred blobs, fine grain) of 2000×1333 and 7360×4912, and an 8×8 PNG.',
];

async function ensureTools(log: (line: string) => void): Promise<string[]> {
  const commands: string[] = [];
  const missing = ['nginx', 'wrk'].filter((tool) => !['/usr/sbin/', '/usr/bin/'].some((dir) => existsSync(dir + tool)));
  if (missing.length) {
    log(`installing ${missing.join(', ')} (apt-get)…`);
    // Keep Debian's nginx package from starting a system nginx on port 80: only the bench starts nginx.
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
        const { code, output } = await run('apt-get', args, { env, timeoutMs: 300_000 });
        if (code !== 0) throw new Error(`apt-get ${args.join(' ')} failed:\n${output}`);
        commands.push(`apt-get ${args.join(' ')}`);
      }
    } finally {
      if (ownPolicy) unlinkSync(policy);
    }
  }
  if (!existsSync(join(REPO, 'node_modules/ipx/package.json'))) {
    log('installing devDependencies (ipx)…');
    const { code, output } = await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: REPO, timeoutMs: 300_000 });
    if (code !== 0) throw new Error(`npm install failed:\n${output}`);
    commands.push('npm install --no-audit --no-fund');
  }
  return commands;
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const quick = process.env.BENCH_QUICK === '1';
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
  const setup = await ensureTools(log);

  const versionRows = await versions(); // before building: the commit that dist/ is built from
  const measured = measuredOn();
  log('npm run build…');
  const build = await run('npm', ['run', 'build'], { cwd: REPO, timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.output}`);

  const tmp = mkdtempSync(join(tmpdir(), 'pictor-bench-'));
  tmpDir = tmp;
  chmodSync(tmp, 0o755); // nginx's worker (user nobody) must be able to read the static file
  const failures: string[] = [];
  const results: ScenarioResult[] = [];
  let machineRows: string[][] = [];
  const runWindow = cpuWindow();
  try {
    machineRows = await machine(tmp);
    log(`generating test images in ${tmp}…`);
    const assets = join(tmp, 'assets');
    mkdirSync(assets);
    await photoJpeg(join(assets, 'photo.jpg'), 2000, 1333, 1);
    await photoJpeg(join(assets, 'big.jpg'), 7360, 4912, 2);
    await tinyPng(join(tmp, 'tiny.png'));
    copyFileSync(join(tmp, 'tiny.png'), join(assets, 'tiny.png'));
    const secondsLeft = (): number => LIMIT_SECONDS - (performance.now() - started) / 1000;
    const context: Context = { tmp, assets, photo: 'photo.jpg', big: 'big.jpg', tiny: join(tmp, 'tiny.png'), quick, secondsLeft };

    for (const scenario of SCENARIOS) {
      if (only && !only.includes(scenario.id)) continue;
      log(`scenario ${scenario.id}: ${scenario.title}…`);
      const t0 = performance.now();
      const window = cpuWindow();
      try {
        const result = await scenario.run(context);
        const { otherShare, topOthers } = window.end();
        results.push({ id: scenario.id, title: scenario.title, seconds: (performance.now() - t0) / 1000, otherShare, topOthers, ...result });
        log(`scenario ${scenario.id} done in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${result.verdicts.map((v) => `${v.label} ${v.value}`).join('; ')}`);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push(`${scenario.id}. ${scenario.title}: ${message.split('\n').slice(0, 4).join(' / ')}`);
        log(`scenario ${scenario.id} FAILED: ${message}`);
      }
    }
  } finally {
    killAll();
    rmSync(tmp, { recursive: true, force: true });
    tmpDir = undefined;
  }

  const seconds = (performance.now() - started) / 1000;
  const { otherShare, topOthers } = runWindow.end();
  machineRows.push(['CPU used by other processes during the run (share of both cores)', `${(otherShare * 100).toFixed(0)} %${topOthers ? ` (largest: ${topOthers})` : ''}`]);
  const report = render({
    measured,
    seconds,
    machine: machineRows,
    versions: versionRows,
    method: [...METHOD, ...(quick ? ['- **BENCH_QUICK=1: short rounds; these numbers check the instrument, they do not measure Pictor.**'] : [])],
    results,
    failures,
    notes: previousNotes(REPORT),
    otherShare,
    setup: ['npm run bench   # = node --import tsx bench/run.ts, which runs:', ...setup, 'npm run build'],
  });
  process.stdout.write(report);
  if (quick || only) {
    log(`partial or quick run: BENCHMARKS.md left as it was; total ${seconds.toFixed(0)} s`);
  } else {
    writeFileSync(REPORT, report);
    log(`report written to BENCHMARKS.md; total ${seconds.toFixed(0)} s`);
  }
  if (failures.length) process.exitCode = 1;
}

/** The run's temp dir while it exists, so that an interrupted run removes it too. */
let tmpDir: string | undefined;

await runToTheEnd('bench', main, () => {
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});
