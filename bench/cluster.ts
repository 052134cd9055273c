/**
 * `npm run bench:cluster`: a cluster on loopback — a PostgreSQL, three `pictor serve --database` nodes (built,
 * from dist/) and two Varnish edges, started by the cluster tests' launcher — measured three ways:
 *
 * 1. purge POST → `completed` (every node, then both edges) with 1 and with 10,000 tagged derivatives of the
 *    purged asset cached on each edge, client- and server-side;
 * 2. distinct purges accepted per second by one node of the cluster (PostgreSQL) against a single node on
 *    SQLite, interleaved in the same run;
 * 3. one cached derivative through a Varnish edge (hit) against straight from a node (hit);
 * 4. a video's first playable through an edge in front of the three nodes (sharing an S3 video store) against
 *    one node alone, and the encodes per video across the cluster (bench/cluster-video.ts).
 *
 * It prints a markdown section and writes it into BENCHMARKS.md (the `cluster` block, kept when `npm run
 * bench` regenerates the file). BENCH_QUICK=1 shortens every part to check the instrument and writes nothing.
 * Everything listens on 127.0.0.1 and is stopped on every exit path.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir } from '../test/helpers/postgres.ts';
import { startCluster, type TestCluster } from '../test/helpers/cluster.ts';
import { S3RVER_KEY, startBucket, type TestBucket } from '../test/helpers/s3-bucket.ts';
import { varnishAvailable } from '../test/helpers/varnish.ts';
import { canPin, cpuWindow, LOAD_CPU, SERVER_CPU, treeCpuSeconds } from './lib/cpu.ts';
import { getOk, pool, request } from './lib/http.ts';
import { photoJpeg, tinyPng } from './lib/images.ts';
import { REPO, SERVE_NODE_OPTIONS, serveEnvironment, startPictor, type Pictor } from './lib/pictor.ts';
import { descendantPids, run, runToTheEnd, sleep } from './lib/proc.ts';
import { machine, measuredOn, writeSeparateRun, type Figures } from './lib/report.ts';
import { table } from './lib/scenario.ts';
import { fmt, fmtMs, fmtRatio, median, percentile, ratios, spread } from './lib/stats.ts';
import { wrk } from './lib/wrk.ts';
import { videoFirstPlayable } from './cluster-video.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** BENCH_PARTS=2,3 runs only those parts (and writes nothing to BENCHMARKS.md): for working on one of them. */
const PARTS = process.env.BENCH_PARTS?.split(',').map(Number);
const runs = (part: number): boolean => PARTS === undefined || PARTS.includes(part);
const NODES = 3;
const EDGES = 2;
/** Derivatives of the purged asset cached on each edge in the large case. */
const BIG = QUICK ? 500 : 10_000;
/** One large sample per round, in the middle of the round's small samples. */
const ROUNDS = QUICK ? 2 : 5;
const SMALL_PER_ROUND = QUICK ? 4 : 12;
/** Derivatives of each large asset checked on every edge: a hit before the purge, a miss after. */
const CHECKED = QUICK ? 5 : 25;
const SEED_CONCURRENCY = 32;
/** The longest the bench waits for the cluster to go idle before a sample (a seeding leaves files being written). */
const SETTLE_MAX_MS = 10_000;
const PURGE_SECONDS = QUICK ? 2 : 5;
const PURGE_ROUNDS = 2;
const HIT_SECONDS = QUICK ? 2 : 5;
const HIT_ROUNDS = 3;
const CONNECTIONS = 64;
const VIDEO_ROUNDS = QUICK ? 1 : 3;
const HIT_PATH = '/photo.jpg?w=800&fm=webp&q=75';
const REPORT = join(REPO, 'BENCHMARKS.md');

/** Derivative k of a tiny asset: 100 widths × 100 qualities, as JPEG, so that each is a distinct render. */
const variant = (k: number): string => `w=${1 + (k % 100)}&q=${1 + (Math.floor(k / 100) % 100)}&fm=jpg`;

/**
 * Each node runs the built server (`node dist/cli/index.js serve …`) with the allocators' settings users'
 * servers get (bench/lib/pictor.ts), as the single-node bench does.
 */
const fromDist = (argv: string[]): string[] => {
  // The launcher names the entry by its absolute path.
  const script = argv.findIndex((arg) => arg.endsWith('src/cli/index.ts'));
  return [argv[0]!, ...SERVE_NODE_OPTIONS, join(REPO, 'dist/cli/index.js'), ...argv.slice(script + 1)];
};

interface Sample {
  size: number;
  node: number;
  ackMs: number;
  clientMs: number;
  serverMs: number;
  polls: number;
  /** How long the bench waited for the cluster to go idle before this sample. */
  settledSeconds: number;
}

interface Checked {
  /** varnishstat MAIN.n_object per edge, before and after the purge. */
  objects: { before: number; after: number }[];
  hitsBefore: number;
  missesAfter: number;
  seedSeconds: number;
}

let cluster: TestCluster | undefined;
let bucket: TestBucket | undefined;
let tmp: string | undefined;

async function main(): Promise<void> {
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`[bench:cluster ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const missing = [
    ...(varnishAvailable() ? [] : ['varnishd (apt-get install varnish varnish-modules)']),
    ...(postgresBinDir() ? [] : ['PostgreSQL server binaries (apt-get install postgresql)']),
    ...(existsSync('/usr/bin/wrk') ? [] : ['wrk (apt-get install wrk)']),
  ];
  if (missing.length) throw new Error(`missing: ${missing.join('; ')} (.ci/run installs them)`);
  const measured = measuredOn();
  log('npm run build…');
  const build = await run('npm', ['run', 'build'], { cwd: REPO, timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.output}`);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ');

  tmp = mkdtempSync(join(tmpdir(), 'pictor-bench-cluster-'));
  // What one durable commit costs at least on this disk (PostgreSQL's data directory is under the same tmpdir).
  const fsync = (await machine(tmp)).find(([name]) => name!.includes('fsync'))?.[1] ?? '?';
  const tiny = join(tmp, 'tiny.png');
  await tinyPng(tiny);
  log('starting PostgreSQL, three nodes and two Varnish edges…');
  // Edge storage: room for every derivative of a large sample (about 1 KB each in Varnish) with a wide margin.
  bucket = await startBucket('videos');
  cluster = await startCluster({
    nodes: NODES,
    edges: EDGES,
    lease: 10,
    command: fromDist,
    edgeStorage: 'malloc,256m',
    extraArgs: ['--video-store', 's3://videos/bench', '--video-store-endpoint', bucket.endpoint],
    env: { PICTOR_VIDEO_STORE_ACCESS_KEY_ID: S3RVER_KEY, PICTOR_VIDEO_STORE_SECRET_ACCESS_KEY: S3RVER_KEY, MALLOC_MMAP_THRESHOLD_: serveEnvironment().MALLOC_MMAP_THRESHOLD_! },
  });
  const c = cluster;
  const roots = (): number[] => [...c.nodes.map((node) => node.process!.child.pid!), ...c.edges.map((edge) => edge.managerPid), ...postmaster(c.pg.port)];
  const sections: string[] = [];
  const window = cpuWindow(roots);

  const verdicts: Verdict[] = [];
  let capacity: Part['capacity'];
  const part = async (number: number, title: string, measure: () => Promise<Part>): Promise<void> => {
    if (!runs(number)) return;
    log(`part ${number}: ${title}…`);
    const partWindow = cpuWindow(roots);
    const result = await measure();
    sections.push(...result.render(partWindow.end().otherShare));
    verdicts.push(...result.verdicts);
    capacity ??= result.capacity;
  };
  const tmpDir = tmp;
  await part(1, `purge latency, 1 and ${BIG.toLocaleString('en-US')} derivatives per edge`, () => purgeLatency(c, tiny, log, () => settle(roots())));
  await part(2, 'purge throughput, PostgreSQL (one node; a cluster node) vs one node on SQLite', () => purgeThroughput(c, tmpDir, tiny, fsync));
  await part(3, 'cache hits, edge vs node', () => cacheHits(c));
  await part(4, 'video first playable, edge → 3 nodes vs one node', () => videoFirstPlayable(c, tmpDir, VIDEO_ROUNDS, log));

  const whole = window.end();
  const seconds = (performance.now() - started) / 1000;
  const report = [
    `**One run of \`npm run bench:cluster\`** (\`bench/cluster.ts\`), Pictor from \`dist/\`; ${(seconds / 60).toFixed(1)} min. ` +
      `On this one machine (2 cores, load average before ${loadBefore}), against 127.0.0.1: a PostgreSQL (initdb in a temporary directory, durable: fsync on), ${NODES} \`pictor serve --database … --node-lease 10\` nodes and ${EDGES} Varnish edges (\`pictor vcl\`, xkey, \`-s malloc,256m\`), started by the cluster tests' launcher (\`test/helpers/cluster.ts\`). ` +
      `Processes the bench did not start used ${fmt(whole.otherShare * 100, 0)} % of the machine during the run${whole.topOthers ? ` (largest: ${whole.topOthers})` : ''}.${QUICK ? ' **BENCH_QUICK=1: short rounds; these numbers check the instrument, they do not measure Pictor.**' : ''}`,
    '',
    table(['Measure', 'Result', 'Target', ''], verdicts.map((v) => [v.label, v.value, v.target, v.pass === undefined ? '—' : v.pass ? '**PASS**' : '**MISS**'])),
    '',
    ...sections,
  ].join('\n');
  await c.stop();
  cluster = undefined;
  process.stdout.write(`${report}\n`);
  if (QUICK || PARTS) log(`${QUICK ? 'BENCH_QUICK=1' : 'BENCH_PARTS'}: BENCHMARKS.md left as it was`);
  else {
    writeSeparateRun(REPORT, 'cluster', report, measured, capacity);
    log('written to BENCHMARKS.md (the cluster section)');
  }
  log(`total ${seconds.toFixed(0)} s`);
}

interface Verdict {
  label: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

interface Part {
  verdicts: Verdict[];
  /** The figures of the report's capacity table this part measures. */
  capacity?: Figures['values'];
  render(otherShare: number): string[];
}

// ————— 1. Purge latency —————

async function purgeLatency(c: TestCluster, tiny: string, log: (line: string) => void, settle: () => Promise<number>): Promise<Part> {
  const auth = { authorization: `Bearer ${c.apiKey}` };
  let index = 0;

  const settled: number[] = [];

  async function measure(asset: string, size: number): Promise<Sample> {
    // Start from a quiet cluster: what a seeding or the previous purge left to do (cache files still being
    // written or deleted) would otherwise land in this sample.
    const settledSeconds = await settle();
    settled.push(settledSeconds);
    const node = index++ % NODES; // each node coordinates a share of the purges
    const admin = c.nodes[node]!.adminUrl;
    const body = JSON.stringify({ data: { type: 'purges', attributes: { url: `${c.nodes[0]!.renderUrl}/${asset}` } } });
    const t0 = performance.now();
    const reply = await request(`${admin}/api/v1/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/vnd.api+json' }, body });
    const ackMs = performance.now() - t0;
    if (reply.status !== 200) throw new Error(`purge ${asset}: ${reply.status} ${reply.body.toString().slice(0, 300)}`);
    const id = (JSON.parse(reply.body.toString()) as { data: { id: string } }).data.id;
    let polls = 0;
    for (;;) {
      // Answered as the purge completes (or after 10 s still pending).
      const status = await request(`${admin}/api/v1/purges/${id}?wait=10`, { headers: auth });
      polls++;
      const attributes = (JSON.parse(status.body.toString()) as { data: { attributes: Record<string, unknown> } }).data.attributes;
      if (attributes.status === 'completed') {
        const clientMs = performance.now() - t0;
        const edges = attributes.edges as { purged: string[]; out_of_rotation: string[] };
        const nodes = attributes.nodes as { applied: string[]; fenced: string[] };
        if (edges.purged.length !== EDGES || nodes.applied.length !== NODES) throw new Error(`purge ${asset} completed without every node and edge: ${JSON.stringify({ nodes, edges })}`);
        const serverMs = Date.parse(String(attributes.completed_at)) - Date.parse(String(attributes.created_at));
        return { size, node, ackMs, clientMs, serverMs, polls, settledSeconds };
      }
      if (attributes.status !== 'pending') throw new Error(`purge ${asset}: ${String(attributes.status)} ${String(attributes.error)}`);
      if (performance.now() - t0 > 30_000) throw new Error(`purge ${asset} still pending after 30 s`);
    }
  }

  /** A fresh asset with one derivative cached on every edge (checked: the second GET is the edge's hit). */
  async function small(i: number): Promise<Sample> {
    const asset = `one/${i}.png`;
    await c.put(asset, readFileSync(tiny));
    for (const edge of c.edges) {
      await getOk(`${edge.url}/${asset}?w=4`);
      if (edgeStatus(await getOk(`${edge.url}/${asset}?w=4`), edge.name) !== 'hit') throw new Error(`${edge.name}: ${asset} not cached`);
    }
    const sample = await measure(asset, 1);
    for (const edge of c.edges) {
      if (edgeStatus(await getOk(`${edge.url}/${asset}?w=4`), edge.name) === 'hit') throw new Error(`${edge.name}: ${asset} still a hit after its purge completed`);
    }
    return sample;
  }

  /** A fresh asset with BIG derivatives cached on every edge, counted before and after the purge. */
  async function large(round: number): Promise<{ sample: Sample; checked: Checked }> {
    const asset = `big/${round}.png`;
    await c.put(asset, readFileSync(tiny));
    const t = performance.now();
    // Each derivative through every edge, SEED_CONCURRENCY derivatives at a time: an edge misses, a node renders (or hits).
    await pool(BIG, SEED_CONCURRENCY, async (k) => {
      for (const edge of c.edges) await getOk(`${edge.url}/${asset}?${variant(k)}`);
    });
    const seedSeconds = (performance.now() - t) / 1000;
    const probe = Array.from({ length: CHECKED }, (_, i) => Math.floor((i * BIG) / CHECKED) + (round % 7));
    let hitsBefore = 0;
    for (const edge of c.edges) for (const k of probe) if (edgeStatus(await getOk(`${edge.url}/${asset}?${variant(k)}`), edge.name) === 'hit') hitsBefore++;
    const before = c.edges.map((edge) => objectsOn(edge.managerPid));
    const sample = await measure(asset, BIG);
    // Varnish frees purged objects in its expiry thread, after the PURGE has been answered: wait for the count.
    let after = c.edges.map((edge) => objectsOn(edge.managerPid));
    for (let waited = 0; waited < 5_000 && after.some((n, i) => before[i]! - n < BIG); waited += 100) {
      await sleep(100);
      after = c.edges.map((edge) => objectsOn(edge.managerPid));
    }
    let missesAfter = 0;
    for (const edge of c.edges) for (const k of probe) if (edgeStatus(await getOk(`${edge.url}/${asset}?${variant(k)}`), edge.name) !== 'hit') missesAfter++;
    if (hitsBefore < probe.length * EDGES) throw new Error(`${asset}: only ${hitsBefore} of ${probe.length * EDGES} checked derivatives were edge hits before the purge`);
    if (missesAfter < probe.length * EDGES) throw new Error(`${asset}: ${probe.length * EDGES - missesAfter} checked derivatives were still edge hits after the purge completed`);
    return { sample, checked: { objects: before.map((b, i) => ({ before: b, after: after[i]! })), hitsBefore, missesAfter, seedSeconds } };
  }

  const samples: Sample[] = [];
  const checks: Checked[] = [];
  const perRound: number[] = [];
  const perRoundServer: number[] = [];
  let smallIndex = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const inRound: Sample[] = [];
    let big: Sample | undefined;
    for (let i = 0; i < SMALL_PER_ROUND; i++) {
      inRound.push(await small(smallIndex++));
      if (i === SMALL_PER_ROUND / 2 - 1) {
        const { sample, checked } = await large(round);
        big = sample;
        checks.push(checked);
        log(`  round ${round + 1}: ${BIG.toLocaleString('en-US')} derivatives per edge seeded in ${fmt(checked.seedSeconds, 1)} s, purged in ${fmt(sample.clientMs, 1)} ms (client), ${sample.serverMs} ms (server), after waiting ${fmt(sample.settledSeconds, 1)} s for the cluster to go idle`);
      }
    }
    samples.push(...inRound, big!);
    perRound.push(big!.clientMs / median(inRound.map((s) => s.clientMs)));
    perRoundServer.push(big!.serverMs / Math.max(1, median(inRound.map((s) => s.serverMs))));
  }

  const ones = samples.filter((s) => s.size === 1);
  const bigs = samples.filter((s) => s.size === BIG);
  const allClient = samples.map((s) => s.clientMs);
  const p99 = percentile(allClient, 99);
  const ratio = spread(perRound);
  const p99Pass = p99 <= 50;
  const ratioPass = ratio.median <= 2;
  const row = (label: string, of: Sample[]): (string | number)[] => {
    const client = of.map((s) => s.clientMs);
    const server = of.map((s) => s.serverMs);
    return [
      label,
      of.length,
      fmt(median(of.map((s) => s.ackMs)), 1),
      `${fmt(median(client), 1)} / ${fmt(percentile(client, 95), 1)} / ${fmt(percentile(client, 99), 1)} / ${fmt(Math.max(...client), 1)}`,
      `${fmt(median(server), 0)} / ${fmt(percentile(server, 95), 0)} / ${fmt(percentile(server, 99), 0)} / ${fmt(Math.max(...server), 0)}`,
      fmt(median(of.map((s) => s.polls)), 0),
    ];
  };
  const onesP99 = percentile(ones.map((s) => s.clientMs), 99);
  const serverMedianOne = median(ones.map((s) => s.serverMs));
  const pollShare = median(ones.map((s) => s.clientMs - s.serverMs));
  const settledMax = Math.max(...settled);
  const objectsPurged = checks.map((ch) => ch.objects.map((o) => o.before - o.after));
  const bigLabel = BIG.toLocaleString('en-US');

  return {
    capacity: { 'purge-cluster': { value: `p50 ${fmt(median(allClient), 1)} ms, p99 ${fmt(p99, 1)} ms`, against: `target p99 ≤ 50 ms; ${bigLabel} derivatives per edge ${fmt(ratio.median, 2)}× 1 (target ≤ 2×)` } },
    verdicts: [
      { label: 'cluster purge POST → completed (3 nodes, 2 edges), client p99 over all samples', value: `${fmt(p99, 1)} ms`, target: '≤ 50 ms', pass: p99Pass },
      { label: `${bigLabel} derivatives per edge / 1 derivative (client latency, per round)`, value: fmtRatio(ratio), target: '≤ 2×', pass: ratioPass },
    ],
    render: (otherShare) => [
      '### 1. Purge POST → completed across 3 nodes and 2 edges',
      '',
      `Each sample purges a fresh 8×8 PNG through one node's admin API (the nodes take turns), after its derivatives were fetched through both edges: **1** derivative (\`?w=4\`, a hit on each edge before, checked) or **${bigLabel}** (\`w\` 1–100 × \`q\` 1–100, \`fm=jpg\`, each fetched through both edges, ${SEED_CONCURRENCY} at a time). Client: from sending the POST to first reading \`completed\`, with \`GET /api/v1/purges/:id?wait=10\` on the same node, which answers as the purge completes; server: \`completed_at − created_at\` (whole ms). Every completed purge named all ${NODES} nodes as applied and both edges as purged. ${ROUNDS} rounds of ${SMALL_PER_ROUND} one-derivative samples around one ${bigLabel} sample; the ratio is taken per round against that round's median one-derivative sample. Before each sample the bench waits until the cluster's processes (nodes, edges, PostgreSQL) are idle, below 10 % of a core over 250 ms (waits of at most ${SETTLE_MAX_MS / 1000} s; this run: at most ${fmt(settledMax, 1)} s, median ${fmt(median(settled), 2)} s; before each ${bigLabel} sample ${bigs.map((s) => `${fmt(s.settledSeconds, 1)} s`).join(', ')}): otherwise the tail of a seeding (cache files still being written) or of the previous purge would be timed too. Processes the bench did not start used ${fmt(otherShare * 100, 0)} % of the machine meanwhile.`,
      '',
      table(['cached per edge', 'samples', 'POST ack ms (median)', 'client ms p50 / p95 / p99 / max', 'server ms p50 / p95 / p99 / max', 'status requests (median)'], [row('1', ones), row(bigLabel, bigs), row('all', samples)]),
      '',
      `${bigLabel}-derivative samples, per round: client ${bigs.map((s) => fmt(s.clientMs, 1)).join(', ')} ms; server ${bigs.map((s) => s.serverMs).join(', ')} ms; ratio to the round's one-derivative median, client ${perRound.map((r) => fmt(r, 2)).join(', ')}, server ${perRoundServer.map((r) => fmt(r, 2)).join(', ')}. Seeding took ${checks.map((ch) => fmt(ch.seedSeconds, 0)).join(', ')} s. ` +
        `Checked each time: objects the purge removed from each edge (\`varnishstat\` \`MAIN.n_object\` before − after) ${objectsPurged.map((edges) => edges.join(' + ')).join(', ')}; ${CHECKED} derivatives per edge were hits before the purge and misses after it (\`Cache-Status\`), ${checks.reduce((n, ch) => n + ch.missesAfter, 0)} of ${checks.length * CHECKED * EDGES}. The one-derivative samples were checked the same way (hit before, miss after) on both edges.`,
      '',
      `**Reading.** Across the cluster a purge completed in a median ${fmt(median(allClient), 1)} ms as the client saw it, p99 ${fmt(p99, 1)} ms (target 50 ms: ${p99Pass ? 'met' : 'missed'}; one-derivative samples alone: p99 ${fmt(onesP99, 1)} ms). ` +
        `The server's own time (\`created_at\` → \`completed_at\`: the durable insert in PostgreSQL, NOTIFY, every node applying and acknowledging, then both edges' PURGE) was a median ${fmt(serverMedianOne, 0)} ms with one derivative; the client sees about ${fmt(pollShare, 1)} ms more: the POST's round trip (median ${fmt(median(ones.map((s) => s.ackMs)), 1)} ms, a committed PostgreSQL transaction) and the status request's round trip. ` +
        `With ${bigLabel} tagged derivatives per edge a purge took ${fmt(ratio.median, 2)}× as long as with one (target 2×: ${ratioPass ? 'met' : 'missed'}): the nodes' side is one sequence bump whatever the count, so the work that grows with the count is each edge's \`xkey.purge\`, which removes the ${bigLabel} objects inside the PURGE request Pictor waits for, and on the nodes the removal of the asset's cached files (about ${fmt((BIG * EDGES) / NODES, 0)} per node at most), which runs in the background but shares the 2 cores with the nodes' event loops that answer the status polls (median POST ack ${fmt(median(bigs.map((s) => s.ackMs)), 1)} ms here against ${fmt(median(ones.map((s) => s.ackMs)), 1)} ms with one derivative; client ${fmt(median(bigs.map((s) => s.clientMs)), 0)} ms against server ${fmt(median(bigs.map((s) => s.serverMs)), 0)} ms).`,
      '',
    ],
  };
}

/** The edge's own Cache-Status entry (`edge-1; hit` → `hit`, `edge-1; fwd=miss` → `fwd=miss`). */
function edgeStatus(reply: { headers: Record<string, string | string[] | undefined> }, name: string): string {
  const header = String(reply.headers['cache-status'] ?? '');
  const entry = header.split(',').map((s) => s.trim()).find((s) => s.startsWith(`${name};`));
  return entry?.split(';')[1]?.trim() ?? '';
}

/** MAIN.n_object of the Varnish whose manager is `managerPid` (its `-n` directory read from the command line). */
function objectsOn(managerPid: number): number {
  const argv = readFileSync(`/proc/${managerPid}/cmdline`, 'utf8').split('\0');
  const instance = argv[argv.indexOf('-n') + 1]!;
  const out = execFileSync('varnishstat', ['-n', instance, '-1', '-f', 'MAIN.n_object'], { encoding: 'utf8' });
  const match = /^MAIN\.n_object\s+(\d+)/m.exec(out);
  if (!match) throw new Error(`varnishstat: no MAIN.n_object in:\n${out}`);
  return Number(match[1]);
}

// ————— 2. Purge throughput —————

async function purgeThroughput(c: TestCluster, root: string, tiny: string, fsync: string): Promise<Part> {
  const assets = join(root, 'single-assets');
  mkdirSync(assets, { recursive: true });
  copyFileSync(tiny, join(assets, 'tiny.png'));
  const single: Pictor = await startPictor(root, 'single', assets);
  // The same PostgreSQL server, its own database: one node with no other node and no edge.
  const alone: Pictor = await startPictor(root, 'pg-single', assets, { args: ['--database', await c.pg.createDatabase('single_node')] });
  try {
    const contenders = {
      postgres: { admin: c.nodes[0]!.adminUrl, render: c.nodes[0]!.renderUrl, key: c.apiKey },
      'postgres-single': { admin: alone.adminUrl, render: alone.renderUrl, key: alone.apiKey },
      sqlite: { admin: single.adminUrl, render: single.renderUrl, key: single.apiKey },
    };
    const order = ['postgres-single', 'postgres', 'sqlite'] as const;
    const accepted: Record<string, number[]> = { postgres: [], 'postgres-single': [], sqlite: [] };
    const p99: Record<string, number[]> = { postgres: [], 'postgres-single': [], sqlite: [] };
    const drain: Record<string, number[]> = { postgres: [], 'postgres-single': [], sqlite: [] };
    const problems: string[] = [];
    const commands: string[] = [];
    for (let round = 0; round < PURGE_ROUNDS; round++) {
      for (const who of order) {
        const target = contenders[who];
        const result = await wrk({ url: target.admin, connections: CONNECTIONS, seconds: PURGE_SECONDS, script: 'purge.lua', scriptArgs: [target.key, target.render, `${who}${round}`] });
        if (round === 0) commands.push(result.command.replace(target.key, '<api key>'));
        if (result.non2xx + result.socketErrors > 0) problems.push(`${who}, round ${round + 1}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
        accepted[who]!.push(result.okPerSecond);
        p99[who]!.push(result.latencyMs.p99);
        // A purge sent right after the window: it completes once the backlog ahead of it has been applied.
        drain[who]!.push(await purgeAndWait(target.admin, target.render, target.key, `/tp/${who}${round}/after.jpg`));
      }
    }
    const pg = spread(accepted.postgres!);
    const pgOne = spread(accepted['postgres-single']!);
    const sq = spread(accepted.sqlite!);
    const ratio = spread(ratios(accepted.postgres!, accepted.sqlite!));
    const oneRatio = spread(ratios(accepted['postgres-single']!, accepted.sqlite!));
    const pgPass = pgOne.median >= 1000;
    const labels = { postgres: `cluster node on PostgreSQL (${NODES} nodes, ${EDGES} edges)`, 'postgres-single': 'single node on PostgreSQL (no other node, no edges)', sqlite: 'single node on SQLite (no edges)' };
    const rows = order.map((who) => [
      labels[who],
      accepted[who]!.map((v) => fmt(v, 0)).join(', '),
      p99[who]!.map((v) => fmtMs(v)).join(', '),
      drain[who]!.map((v) => fmt(v, 2)).join(', '),
    ]);
    return {
      verdicts: [
        { label: 'purges accepted per second, one node on PostgreSQL (c=64)', value: `${fmt(pgOne.median, 0)} (${fmt(pgOne.min, 0)}–${fmt(pgOne.max, 0)})`, target: '≥ 1,000/s', pass: pgPass },
        { label: 'one node on PostgreSQL / one node on SQLite, purges accepted per second', value: fmtRatio(oneRatio), target: 'informational', pass: undefined },
        { label: `purges accepted per second by one node of the ${NODES}-node cluster with ${EDGES} edges`, value: `${fmt(pg.median, 0)}`, target: 'informational', pass: undefined },
        { label: 'cluster node on PostgreSQL / one node on SQLite, purges accepted per second', value: fmtRatio(ratio), target: 'informational', pass: undefined },
      ],
      render: (otherShare) => [
        '### 2. Purge throughput: PostgreSQL against SQLite',
        '',
        `wrk, 1 thread, ${CONNECTIONS} connections, ${PURGE_SECONDS} s per round, ${PURGE_ROUNDS} rounds interleaved (PostgreSQL, SQLite, …), \`bench/wrk/purge.lua\`: every request purges a distinct asset URL. PostgreSQL, one node: a \`pictor serve --database\` on its own database of the same PostgreSQL server, no other node and no edge. PostgreSQL, cluster: node-1 of the cluster above (every 200 is a committed row in the purge log; each purge is then applied by all ${NODES} nodes and sent to both edges). SQLite: one \`pictor serve\` without \`--database\`, from \`dist/\`, with its own data directory (the single-node scenario 5's setup). After each window one more purge is sent and timed to \`completed\`: it completes once the backlog ahead of it is through. Processes the bench did not start used ${fmt(otherShare * 100, 0)} % of the machine meanwhile.`,
        '',
        table(['', 'accepted/s per round', 'p99 ms per round', 'next purge completed after, s'], rows),
        '',
        problems.length ? `**Problems:** ${problems.join('; ')}.` : 'Every request got a 200.',
        '',
        `**Reading.** One node on PostgreSQL accepted a median ${fmt(pgOne.median, 0)} distinct purges per second (target 1,000/s: ${pgPass ? 'met' : 'missed'}), against ${fmt(sq.median, 0)}/s for one node on SQLite in the same run (${fmt(oneRatio.median, 2)}×); one node of the cluster, whose every purge the other nodes and both edges must also apply, accepted ${fmt(pg.median, 0)}/s (${fmt(ratio.median, 2)}× SQLite). ` +
          `On SQLite a 200 waits for a group commit: many purges share one fsync. On PostgreSQL the purges that arrive while an append commits share the next transaction (\`PgPurgeLog.append\`, \`src/store/postgres/batcher.ts\`: the advisory lock that keeps sequence numbers in commit order, one statement that inserts the rows, raises the marks and notifies once, then the commit; a 4 KiB write + fsync takes ${fsync} here). The request's other round trips to PostgreSQL are batched the same way: the lookups of one API key arriving together share one query, the takes from its rate limit (shared by every node) one statement, and completions share transactions. What each accepted purge still costs on its own comes after the 200, on the same 2 cores: ${NODES} nodes applying and acknowledging it, and the coordinator recording each edge's state and sending both edges their PURGE. The ${NODES} nodes, both edges, PostgreSQL and wrk share the machine's 2 cores.`,
        '',
        '```sh',
        ...commands,
        '```',
        '',
      ],
    };
  } finally {
    await Promise.all([single.stop(), alone.stop()]);
  }
}

async function purgeAndWait(admin: string, render: string, key: string, path: string): Promise<number> {
  const auth = { authorization: `Bearer ${key}` };
  const t0 = performance.now();
  const body = JSON.stringify({ data: { type: 'purges', attributes: { url: `${render}${path}` } } });
  const reply = await request(`${admin}/api/v1/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/vnd.api+json' }, body });
  if (reply.status !== 200) throw new Error(`purge ${path}: ${reply.status} ${reply.body.toString().slice(0, 300)}`);
  const id = (JSON.parse(reply.body.toString()) as { data: { id: string } }).data.id;
  while (performance.now() - t0 < 120_000) {
    const status = await request(`${admin}/api/v1/purges/${id}`, { headers: auth });
    if (status.status !== 200) throw new Error(`status of purge ${path}: ${status.status} ${status.body.toString().slice(0, 300)}`);
    const attributes = (JSON.parse(status.body.toString()) as { data: { attributes: { status: string } } }).data.attributes;
    if (attributes.status === 'completed') return (performance.now() - t0) / 1000;
    if (attributes.status !== 'pending') throw new Error(`purge ${path}: ${attributes.status}`);
    await sleep(20);
  }
  throw new Error(`purge ${path} still pending after 120 s`);
}

// ————— 3. Cache hits —————

async function cacheHits(c: TestCluster): Promise<Part> {
  await photoJpeg(join(c.assetsDir, 'photo.jpg'), 2000, 1333, 1);
  const node = c.nodes[0]!;
  const edge = c.edges[0]!;
  const urls = { node: `${node.renderUrl}${HIT_PATH}`, edge: `${edge.url}${HIT_PATH}` };
  await getOk(urls.node);
  const nodeHit = await getOk(urls.node);
  if (!String(nodeHit.headers['cache-status']).includes('Pictor; hit')) throw new Error(`node: not a hit (${String(nodeHit.headers['cache-status'])})`);
  await getOk(urls.edge);
  const edgeHit = await getOk(urls.edge);
  if (edgeStatus(edgeHit, edge.name) !== 'hit') throw new Error(`edge: not a hit (${String(edgeHit.headers['cache-status'])})`);
  if (!edgeHit.body.equals(nodeHit.body)) throw new Error('the edge and the node serve different bytes');
  const pinned = canPin();
  if (pinned) {
    // Each server (every thread of its processes) on core 0, wrk on core 1, as in scenario 2.
    for (const pid of [node.process!.child.pid!, ...descendantPids(node.process!.child.pid!), edge.managerPid, ...descendantPids(edge.managerPid)]) pinPid(pid, SERVER_CPU);
  }
  const cpu = pinned ? LOAD_CPU : undefined;
  for (const who of ['node', 'edge'] as const) await wrk({ url: urls[who], connections: CONNECTIONS, seconds: QUICK ? 1 : 3, cpu }); // warm-up
  const rate: Record<string, number[]> = { node: [], edge: [] };
  const p50: Record<string, number[]> = { node: [], edge: [] };
  const p99: Record<string, number[]> = { node: [], edge: [] };
  const problems: string[] = [];
  const commands: string[] = [];
  for (let round = 0; round < HIT_ROUNDS; round++) {
    for (const who of ['node', 'edge'] as const) {
      const result = await wrk({ url: urls[who], connections: CONNECTIONS, seconds: HIT_SECONDS, cpu });
      if (round === 0) commands.push(result.command);
      if (result.non2xx + result.socketErrors > 0) problems.push(`${who}, round ${round + 1}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
      rate[who]!.push(result.okPerSecond);
      p50[who]!.push(result.latencyMs.p50);
      p99[who]!.push(result.latencyMs.p99);
    }
  }
  if (edgeStatus(await getOk(urls.edge), edge.name) !== 'hit') problems.push('the edge no longer answered from its cache after the run');
  const ratio = spread(ratios(rate.edge!, rate.node!));
  const rows = (['node', 'edge'] as const).map((who) => [
    who === 'node' ? 'node-1 directly (Pictor derivative cache hit)' : 'edge-1 (Varnish hit)',
    fmt(median(rate[who]!), 0),
    rate[who]!.map((v) => fmt(v, 0)).join(', '),
    fmtMs(median(p50[who]!)),
    fmtMs(median(p99[who]!)),
  ]);
  return {
    verdicts: [{ label: 'cache hit through a Varnish edge / straight from a node (req/s)', value: fmtRatio(ratio), target: 'informational', pass: undefined }],
    render: (otherShare) => [
      '### 3. Cache hits: through a Varnish edge and straight from a node',
      '',
      `One derivative (\`${HIT_PATH}\` of a 2000×1333 JPEG, ${nodeHit.body.length} bytes, the same bytes from both), a hit on each before the run (checked: \`Cache-Status\`). wrk, 1 thread, ${CONNECTIONS} connections, ${HIT_SECONDS} s per contender per round, ${HIT_ROUNDS} rounds interleaved, after an unmeasured warm-up. ${pinned ? 'The server measured (node-1 with its render processes; edge-1\'s manager and cache process, all threads) is pinned to core 0 and wrk to core 1 (`taskset`), as in scenario 2; the other nodes and PostgreSQL are idle meanwhile.' : 'Not pinned to cores (no taskset or fewer than 2 cores).'} Processes the bench did not start used ${fmt(otherShare * 100, 0)} % of the machine meanwhile.`,
      '',
      table(['', 'req/s (median)', 'per round', 'p50 ms', 'p99 ms'], rows),
      '',
      problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No non-2xx response and no socket error.',
      '',
      `**Reading.** Through the edge, a hit was served at ${fmt(ratio.median, 2)}× the rate of the node itself (${fmt(median(rate.edge!), 0)} against ${fmt(median(rate.node!), 0)} req/s), p99 ${fmtMs(median(p99.edge!))} ms against ${fmtMs(median(p99.node!))} ms. Both are one process on one core; Varnish serves its hits from threads without touching Pictor, so in a cluster the edges take the hits and the nodes are left with misses, renders and purges.`,
      '',
      '```sh',
      ...commands,
      '```',
      '',
    ],
  };
}

function pinPid(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
  } catch {
    // the process ended meanwhile
  }
}

/** Waits (at most 3 s) until these process trees use below 10 % of a core over 250 ms; returns the seconds waited. */
async function settle(pids: number[]): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < SETTLE_MAX_MS) {
    const before = treeCpuSeconds(pids);
    await sleep(250);
    if (treeCpuSeconds(pids) - before < 0.025) break;
  }
  return (performance.now() - t0) / 1000;
}

/** The PostgreSQL postmaster listening on `port` (its command line holds `-p PORT`), for CPU accounting. */
function postmaster(port: number): number[] {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('postgres') && argv.some((arg, i) => arg === `-p ${port}` || (arg === '-p' && argv[i + 1] === String(port)))) return [Number(entry)];
    } catch {
      // ended meanwhile
    }
  }
  return [];
}

await runToTheEnd(
  'bench:cluster',
  async () => {
    try {
      await main();
    } catch (error) {
      // A node that ended on its own is a finding: say why, from its own output.
      for (const node of cluster?.nodes ?? []) {
        if (node.process && node.process.child.exitCode !== null) console.error(`${node.id} exited (${node.process.child.exitCode}):\n${node.process.output().slice(-4000)}`);
      }
      throw error;
    } finally {
      await cluster?.stop();
      await bucket?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
  () => {
    // Interrupted: the launcher stops PostgreSQL and the edges on exit; the nodes and the files are ours to end.
    for (const node of cluster?.nodes ?? []) node.process?.child.kill('SIGKILL');
    if (cluster) rmSync(join(cluster.assetsDir, '..'), { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  },
);
