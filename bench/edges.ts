/**
 * `npm run bench:edges`: purge POST → `completed` with a real Varnish edge and a real nginx edge in front of one
 * `pictor serve` (from dist/, SQLite), against the same Pictor with no edge, interleaved round by round.
 *
 * Each sample: a fresh asset variant set (VARIANTS derivatives) is fetched twice through each edge (the second a
 * hit), the asset is purged, and the status is polled every ~2 ms until it is no longer pending; then every
 * variant is fetched through both edges and must be a miss. Writes the `edges` block of BENCHMARKS.md
 * (BENCH_QUICK=1: fewer samples, printed only).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConf } from '../src/edges/nginx-conf.ts';
import { renderVcl } from '../src/edges/vcl.ts';
import { CACHE_PURGE_MODULE, nginxDir, startNginx, type TestNginx } from '../test/helpers/nginx.ts';
import { startVarnish, type TestVarnish } from '../test/helpers/varnish.ts';
import { request } from './lib/http.ts';
import { photoJpeg } from './lib/images.ts';
import { REPO, startPictor, type Pictor } from './lib/pictor.ts';
import { freePort, sleep } from './lib/proc.ts';
import { measuredOn, writeSeparateRun } from './lib/report.ts';
import { startBench } from './lib/standalone.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const SAMPLES = QUICK ? 6 : 60;
const VARIANTS = 5;
/** Purge POST → completed through both edges. */
const TARGET_P99_MS = 50;
const REPORT = join(REPO, 'BENCHMARKS.md');

type Setup = 'edges' | 'none';

async function main(): Promise<void> {
  const measured = measuredOn();
  const { log, loadBefore } = await startBench('bench:edges', 600);
  const tmp = mkdtempSync(join(tmpdir(), 'pictor-bench-edges-'));
  const assets = join(tmp, 'assets');
  mkdirSync(assets, { recursive: true });
  for (let i = 0; i < SAMPLES; i++) await photoJpeg(join(assets, `p${i}.jpg`), 400, 300, i + 1);
  const running: { stop(): Promise<void> }[] = [];
  try {
    const edgesPictor = await startPictor(tmp, 'edges', assets);
    running.push(edgesPictor);
    const plain = await startPictor(tmp, 'none', assets);
    running.push(plain);
    const { varnish, nginx, nginxPort } = await startEdges(edgesPictor);
    running.push(varnish, nginx);
    const samples: Record<Setup, number[]> = { edges: [], none: [] };
    for (let i = 0; i < SAMPLES; i++) {
      samples.edges.push(await sample(edgesPictor, `p${i}.jpg`, [varnish.url, `http://127.0.0.1:${nginxPort}`]));
      samples.none.push(await sample(plain, `p${i}.jpg`, []));
      if ((i + 1) % 10 === 0) log(`  ${i + 1} of ${SAMPLES} samples`);
    }
    const report = render(samples, loadBefore);
    process.stdout.write(`${report}\n`);
    if (QUICK) log('BENCH_QUICK=1: BENCHMARKS.md left as it was');
    else writeSeparateRun(REPORT, 'edges', report, measured);
  } finally {
    for (const part of running.reverse()) await part.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function startEdges(pictor: Pictor): Promise<{ varnish: TestVarnish; nginx: TestNginx; nginxPort: number }> {
  const backend = new URL(pictor.renderUrl).host;
  const varnish = await startVarnish({ vcl: renderVcl({ backends: [backend] }), name: 'varnish-1' });
  const [nginxPort, purgePort] = [await freePort(), await freePort()];
  const dir = nginxDir();
  const listen = { listen: `127.0.0.1:${nginxPort}`, purgeListen: `127.0.0.1:${purgePort}` };
  const http = renderNginxConf({ name: 'nginx-1', backends: [backend], ...listen, cachePath: join(dir, 'cache') });
  const nginx = await startNginx({ dir, http, ports: [nginxPort, purgePort], main: [CACHE_PURGE_MODULE] });
  for (const attributes of [{ name: 'varnish-1', url: varnish.url }, { name: 'nginx-1', kind: 'nginx', url: `http://127.0.0.1:${purgePort}` }]) {
    const reply = await request(`${pictor.adminUrl}/api/v1/edges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pictor.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'edges', attributes } }),
    });
    if (reply.status !== 201) throw new Error(`adding ${attributes.name}: ${reply.status} ${reply.body.toString()}`);
  }
  await sleep(2500); // the render listener reads the list of nginx edges again within 2 s
  return { varnish, nginx, nginxPort };
}

/** Caches VARIANTS derivatives on each edge (checked), purges the asset, and answers the ms until it completed. */
async function sample(pictor: Pictor, name: string, edges: string[]): Promise<number> {
  const targets = Array.from({ length: VARIANTS }, (_, i) => `/${name}?w=${100 + i * 20}`);
  for (const edge of edges) {
    for (const target of targets) {
      await request(`${edge}${target}`);
      const again = await request(`${edge}${target}`);
      if (!edgeHit(again.headers['cache-status'])) throw new Error(`${edge}${target} is not cached: ${again.headers['cache-status']}`);
    }
  }
  const begin = performance.now();
  const id = await pictor.purge(`${pictor.renderUrl}/${name}`);
  for (;;) {
    const status = await pictor.purgeStatus(id);
    if (status.status === 'completed') break;
    if (status.status !== 'pending') throw new Error(`purge ${id}: ${status.status}`);
    await sleep(2);
  }
  const ms = performance.now() - begin;
  for (const edge of edges) {
    for (const target of targets) {
      const after = await request(`${edge}${target}`);
      if (edgeHit(after.headers['cache-status'])) throw new Error(`${edge}${target} is still a hit after the purge`);
    }
  }
  return ms;
}

/** Whether the edge itself answered from its cache: its entry is the last of Cache-Status (Pictor's comes first). */
function edgeHit(cacheStatus: string | string[] | undefined): boolean {
  const entries = [cacheStatus ?? ''].flat().join(', ').split(',');
  return /; hit\b/i.test(entries.at(-1) ?? '');
}

function render(samples: Record<Setup, number[]>, loadBefore: string): string {
  const row = (label: string, values: number[]): string =>
    `| ${label} | ${values.length} | ${fmt(median(values), 1)} | ${fmt(percentile(values, 99), 1)} | ${fmt(Math.max(...values), 1)} |`;
  return [
    `On this one machine (2 cores, load average before ${loadBefore}), against 127.0.0.1: two \`pictor serve\` processes from \`dist/\` (SQLite), one behind a Varnish edge (\`pictor vcl\`, xkey) and an nginx edge (\`pictor nginx-conf\`, ngx_cache_purge 2.3), one with no edge. Samples alternate between the two.`,
    '',
    `Each sample: ${VARIANTS} variants of a fresh asset fetched twice through each edge (the second checked to be a hit), the asset purged (\`POST /api/v1/purge\`), the status polled every ~2 ms until \`completed\`; then every variant fetched through both edges and checked to be a miss.`,
    '',
    '| Setup | Samples | p50 (ms) | p99 (ms) | max (ms) |',
    '|---|---|---|---|---|',
    row('Varnish + nginx edges', samples.edges),
    row('no edge', samples.none),
    '',
    `**Reading.** With both edges a purge completed in ${fmt(percentile(samples.edges, 99), 1)} ms at the p99 (target ≤ ${TARGET_P99_MS} ms: ${percentile(samples.edges, 99) <= TARGET_P99_MS ? 'met' : 'missed'}; ` +
      `load average before the run ${loadBefore}: a loaded machine misses it by its own waits, see the no-edge row). ` +
      `The edges add ${fmt(median(samples.edges) - median(samples.none), 1)} ms at the median: the Varnish edge takes one \`xkey-purge\` request, the nginx edge one purge request per recorded cache key of the asset (${VARIANTS} here), after the keys are read from the store.`,
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:edges failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
