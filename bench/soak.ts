/**
 * `npm run soak [-- --minutes N]`: a bounded run (5 minutes by default, at most 10) of mixed traffic against
 * a real `pictor serve` process on 127.0.0.1, with small memory tiers so that they fill early and the
 * process's memory must level off within the run. It mixes renders of many distinct URLs (and some
 * repeats), purges (exact, prefix, whole Source; waiting out 429s), Source edits and hostile requests, and
 * reports resident memory over time with a verdict, responses by status per kind of traffic, every 5xx
 * with its URL, whether the server crashed, and whether every acknowledged purge completed. The report ends
 * with a markdown section for BENCHMARKS.md (printed only). Everything it starts, it stops, on every exit.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileRequests, type HostileRequest } from './lib/hostile.ts';
import { request, type Reply } from './lib/http.ts';
import { photoJpeg, tinyPng } from './lib/images.ts';
import { REPO, startPictor, type Pictor } from './lib/pictor.ts';
import { descendantPids, killAll, procMemoryMb, rssMbOr0, run, runToTheEnd, sleep } from './lib/proc.ts';
import { table } from './lib/scenario.ts';
import { startBench } from './lib/standalone.ts';
import { median } from './lib/stats.ts';

const MAX_MINUTES = 10;
const TINY_FOLDERS = 8;
const TINY_PER_FOLDER = 150;
const SECOND_HOST = 'second.soak.test';
/** Small tiers, so they fill in the first third of the run and the memory curve must flatten after. */
const SERVE_ARGS = ['--memory-cache-size', '24mb', '--master-memory-size', '16mb', '--decoded-memory-size', '32mb', '--disk-cache-size', '256mb', '--purge-rate-limit', '50'];
/**
 * The verdict's rule. Resident memory is sampled every second and reduced to its floor, the lowest sample of
 * each 10 s window: transient peaks (a hostile 8192-pixel canvas, say) come and go, what accumulates raises
 * the floor. Plateau when the median floor of the run's last third is at most this much above the median
 * floor of its middle third; growth otherwise.
 */
const PLATEAU_GROWTH = 0.05;
const WINDOW_SECONDS = 10;
const REQUEST_TIMEOUT_MS = 30_000;
const PURGE_GRACE_MS = 60_000;

type Kind = 'render' | 'render (repeat)' | 'render (second Source)' | 'purge exact' | 'purge prefix' | 'purge Source' | 'Source edit' | 'purge status' | 'hostile';

interface Sample {
  seconds: number;
  rssMb: number;
  renderProcessesMb: number;
  heapMb: number;
  externalMb: number;
  renders: number;
}

interface ServerError {
  kind: Kind;
  method: string;
  url: string;
  status: number | string;
}

class Tally {
  readonly byKind = new Map<Kind, Map<string, number>>();
  readonly serverErrors: ServerError[] = [];

  count(kind: Kind, method: string, url: string, status: number | string): void {
    const row = this.byKind.get(kind) ?? new Map<string, number>();
    this.byKind.set(kind, row);
    row.set(String(status), (row.get(String(status)) ?? 0) + 1);
    if (typeof status === 'number' && status >= 500) this.serverErrors.push({ kind, method, url, status });
  }
}

function parseMinutes(argv: string[]): number {
  const at = argv.indexOf('--minutes');
  if (at === -1) return 5;
  const minutes = Number(argv[at + 1]);
  if (!(minutes > 0 && minutes <= MAX_MINUTES)) throw new Error(`--minutes must be a number above 0 and at most ${MAX_MINUTES}`);
  return minutes;
}

async function makeAssets(root: string): Promise<{ assets: string; second: string }> {
  const assets = join(root, 'assets');
  const second = join(root, 'second');
  mkdirSync(second, { recursive: true });
  for (let folder = 0; folder < TINY_FOLDERS; folder++) {
    mkdirSync(join(assets, 'tiny', `f${folder}`), { recursive: true });
    for (let i = 0; i < TINY_PER_FOLDER; i++) await tinyPng(join(assets, 'tiny', `f${folder}`, `t${i}.png`), 8 + ((folder * TINY_PER_FOLDER + i) % 40));
  }
  await photoJpeg(join(assets, 'photo.jpg'), 640, 480, 3);
  await photoJpeg(join(assets, 'mid.jpg'), 1600, 1067, 4);
  await photoJpeg(join(second, 'cover.jpg'), 800, 600, 5);
  await tinyPng(join(second, 'icon.png'), 48);
  return { assets, second };
}

/** The n-th distinct render URL: mostly tiny files at many sizes, some mid-size photos, a few AVIF. */
function renderPath(n: number): string {
  if (n % 4 !== 0) {
    const k = n - Math.floor(n / 4) - 1;
    const file = k % (TINY_FOLDERS * TINY_PER_FOLDER);
    const variant = Math.floor(k / (TINY_FOLDERS * TINY_PER_FOLDER));
    return `/tiny/f${Math.floor(file / TINY_PER_FOLDER)}/t${file % TINY_PER_FOLDER}.png?w=${4 + (variant % 60)}&fm=${['png', 'webp', 'jpg'][variant % 3]}&q=${40 + Math.floor(variant / 60)}`;
  }
  const k = n / 4;
  const source = k % 2 === 0 ? 'photo.jpg' : 'mid.jpg';
  const format = k % 20 === 0 ? 'avif' : ['webp', 'jpg', 'png'][k % 3];
  return `/${source}?w=${32 + (Math.floor(k / 2) % 600)}&q=${30 + (Math.floor(k / 1200) % 60)}&fm=${format}`;
}

async function main(): Promise<void> {
  const minutes = parseMinutes(process.argv.slice(2));
  // Traffic, the purge grace period and the build fit well within the limit.
  const { log } = await startBench('soak', minutes * 60 + 300);
  const tmp = mkdtempSync(join(tmpdir(), 'pictor-soak-'));
  tmpDir = tmp;
  log(`generating assets in ${tmp}…`);
  const { assets, second } = await makeAssets(tmp);
  const pictor = await startPictor(tmp, 'soak', assets, { entry: 'bin/pictor.js', args: [...SERVE_ARGS, '--folder-root', second] });
  let stopping = false;
  let trafficStartedAt: number | undefined;
  let crash: { seconds: number; code: number | null; output: string } | undefined;
  void pictor.child.exited.then((code) => {
    if (!stopping) crash = { seconds: (performance.now() - (trafficStartedAt ?? performance.now())) / 1000, code, output: pictor.child.output().split('\n').slice(-40).join('\n') };
  });
  try {
    const key = await createKey(pictor);
    const auth = { authorization: `Bearer ${key}` };
    const json = { ...auth, 'content-type': 'application/vnd.api+json' };
    const defaultId = await sourceId(pictor.adminUrl, auth, 'default');
    const secondId = await createSource(pictor.adminUrl, json, second);
    const renderHost = new URL(pictor.renderUrl).host;
    const hostile = hostileRequests(key, secondId, renderHost);
    const launcherMb = pictor.serverPid === pictor.child.pid ? undefined : procMemoryMb(pictor.child.pid, 'VmRSS');
    log(`Pictor pid ${pictor.serverPid} at ${pictor.renderUrl}; traffic for ${minutes} min…`);
    const trafficStart = (trafficStartedAt = performance.now());
    const trafficSeconds = (): number => (performance.now() - trafficStart) / 1000;

    const tally = new Tally();
    const acknowledged = new Set<string>();
    const samples: Sample[] = [];
    const lastHostile: { at: number; request: HostileRequest }[] = [];
    const deadline = performance.now() + minutes * 60_000;
    const running = (): boolean => performance.now() < deadline && crash === undefined;

    /** One request, counted; connection failures count as ERR (after a crash, every request fails so). */
    const send = async (kind: Kind, base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply | undefined> => {
      try {
        const reply = await request(base + path, { method, headers, body, timeoutMs: REQUEST_TIMEOUT_MS });
        tally.count(kind, method, path, reply.status);
        return reply;
      } catch (error) {
        tally.count(kind, method, path, `ERR ${(error as NodeJS.ErrnoException).code ?? (error as Error).message.slice(0, 40)}`);
        return undefined;
      }
    };

    let distinct = 0;
    const recent: string[] = [];
    const renders = async (): Promise<void> => {
      while (running()) {
        const roll = Math.random();
        if (roll < 0.1 && recent.length > 0) {
          await send('render (repeat)', pictor.renderUrl, 'GET', recent[Math.floor(Math.random() * recent.length)]!);
        } else if (roll < 0.15) {
          const path = `/${distinct % 2 ? 'cover.jpg' : 'icon.png'}?w=${16 + (distinct % 500)}&fm=webp`;
          distinct++;
          await send('render (second Source)', pictor.renderUrl, 'GET', path, { host: SECOND_HOST });
        } else {
          const path = renderPath(distinct++);
          await send('render', pictor.renderUrl, 'GET', path);
          if (recent.push(path) > 500) recent.shift();
        }
      }
    };

    /** A purge, retried after Retry-After while rate limited; the id of an acknowledged one is kept. */
    const purge = async (kind: Kind, path: string, body?: string): Promise<void> => {
      while (running()) {
        const reply = await send(kind, pictor.adminUrl, 'POST', path, body === undefined ? auth : json, body);
        if (reply?.status === 429) {
          await sleep(Number(reply.headers['retry-after'] ?? '1') * 1000);
          continue;
        }
        if (reply?.status === 200) acknowledged.add((JSON.parse(reply.body.toString()) as { data: { id: string } }).data.id);
        return;
      }
    };
    const purgeBody = (url: string, match?: string): string => JSON.stringify({ data: { type: 'purges', attributes: { url, ...(match ? { match } : {}) } } });
    const purges = async (): Promise<void> => {
      for (let n = 0; running(); n++) {
        // Every 40th turn a burst well over the rate limit, so 429s and Retry-After are exercised.
        const burst = n % 40 === 39 ? 80 : 1;
        await Promise.all(
          Array.from({ length: burst }, async (_, b) => {
            const i = n * 7 + b;
            if (i % 25 === 0) return purge('purge Source', `/api/v1/sources/${i % 50 === 0 ? defaultId : secondId}/purge`);
            if (i % 5 === 0) return purge('purge prefix', '/api/v1/purge', purgeBody(`http://${renderHost}/tiny/f${i % TINY_FOLDERS}/`, 'prefix'));
            const file = i % (TINY_FOLDERS * TINY_PER_FOLDER);
            return purge('purge exact', '/api/v1/purge', purgeBody(`http://${renderHost}/tiny/f${Math.floor(file / TINY_PER_FOLDER)}/t${file % TINY_PER_FOLDER}.png`));
          }),
        );
        await sleep(150);
      }
    };

    const edits = async (): Promise<void> => {
      for (let n = 0; running(); n++) {
        const attributes = { name: `soak second ${n}`, deployment: { default_params: n % 2 ? { q: String(50 + (n % 40)) } : {} } };
        await send('Source edit', pictor.adminUrl, 'PATCH', `/api/v1/sources/${secondId}`, json, JSON.stringify({ data: { type: 'sources', id: secondId, attributes } }));
        await sleep(2000);
      }
    };

    const attacks = async (): Promise<void> => {
      for (let n = 0; running(); n++) {
        const hostileRequest = hostile[n % hostile.length]!;
        lastHostile.push({ at: trafficSeconds(), request: hostileRequest });
        if (lastHostile.length > 5) lastHostile.shift();
        const base = hostileRequest.listener === 'render' ? pictor.renderUrl : pictor.adminUrl;
        await send('hostile', base, hostileRequest.method, hostileRequest.path, hostileRequest.headers, hostileRequest.body);
        await sleep(200);
      }
    };

    const sampler = async (): Promise<void> => {
      let window = 0;
      process.stderr.write(`${['s', 'RSS min MB', 'RSS max MB', 'render p. MB', 'heap MB', 'ext. MB', 'renders'].map((h) => h.padStart(11)).join('')}\n`);
      while (running()) {
        const sample = await takeSample(pictor, trafficSeconds());
        if (sample) samples.push(sample);
        if (sample && sample.seconds >= (window + 1) * WINDOW_SECONDS) {
          const row = windowRow(samples, window++);
          if (row) process.stderr.write(`${row.map((c) => c.padStart(11)).join('')}\n`);
        }
        await sleep(1000);
      }
    };

    await Promise.all([renders(), renders(), renders(), renders(), purges(), edits(), attacks(), sampler()]);
    if (crash) log(`Pictor EXITED during the run (code ${crash.code}) ${crash.seconds.toFixed(0)} s into the traffic`);

    log(`traffic stopped; waiting up to ${PURGE_GRACE_MS / 1000} s for ${acknowledged.size} acknowledged purges…`);
    const outcome = crash ? undefined : await settlePurges(pictor, [...acknowledged], auth, (status) => tally.count('purge status', 'GET', '/api/v1/purges/:id', status));
    const idle = crash ? undefined : await takeSample(pictor, trafficSeconds());
    stopping = true;
    await pictor.stop();
    process.stdout.write(report({ minutes, samples, idle, launcherMb, tally, acknowledged: acknowledged.size, outcome, crash, lastHostile, distinct, command: pictor.command }));
    if (crash || tally.serverErrors.length || (outcome && outcome.completed < acknowledged.size) || verdict(samples).growing) process.exitCode = 1;
  } finally {
    stopping = true;
    killAll();
    rmSync(tmp, { recursive: true, force: true });
    tmpDir = undefined;
  }
}

async function createKey(pictor: Pictor): Promise<string> {
  const { code, output } = await run(process.execPath, ['bin/pictor.js', 'keys', 'create', '--name', 'soak', '--permissions', 'purge,sources', '--data', pictor.dataDir], { cwd: REPO, timeoutMs: 60_000 });
  const key = /(ak_[0-9a-f]{64})\s*$/.exec(output.trim())?.[1];
  if (code !== 0 || !key) throw new Error(`pictor keys create failed:\n${output}`);
  return key;
}

async function sourceId(adminUrl: string, auth: Record<string, string>, name: string): Promise<string> {
  const reply = await request(`${adminUrl}/api/v1/sources?filter[name]=${name}`, { headers: auth });
  const id = (JSON.parse(reply.body.toString()) as { data: { id: string }[] }).data[0]?.id;
  if (reply.status !== 200 || !id) throw new Error(`no Source named ${name}: ${reply.status}`);
  return id;
}

async function createSource(adminUrl: string, json: Record<string, string>, folder: string): Promise<string> {
  const body = JSON.stringify({ data: { type: 'sources', attributes: { name: 'soak second', deployment: { type: 'folder', folder_path: folder, custom_domains: [SECOND_HOST] } } } });
  const reply = await request(`${adminUrl}/api/v1/sources`, { method: 'POST', headers: json, body });
  if (reply.status !== 201) throw new Error(`creating the second Source: ${reply.status} ${reply.body.toString().slice(0, 300)}`);
  return (JSON.parse(reply.body.toString()) as { data: { id: string } }).data.id;
}

/** Resident memory from /proc, the JS heap and external memory from /metrics. */
async function takeSample(pictor: Pictor, seconds: number): Promise<Sample | undefined> {
  try {
    const rssMb = procMemoryMb(pictor.serverPid, 'VmRSS');
    // Heavy renders run in render processes of their own (recycled, and ended when idle): counted apart.
    const renderProcessesMb = descendantPids(pictor.serverPid).reduce((sum, pid) => sum + rssMbOr0(pid), 0);
    const [heap, external, renders] = await Promise.all([
      pictor.metric('pictor_nodejs_heap_size_used_bytes'),
      pictor.metric('pictor_nodejs_external_memory_bytes'),
      pictor.renders(),
    ]);
    return { seconds, rssMb, renderProcessesMb, heapMb: heap / 2 ** 20, externalMb: external / 2 ** 20, renders };
  } catch {
    return undefined; // the process is gone: the crash is reported elsewhere
  }
}

interface PurgeOutcome {
  completed: number;
  failed: number;
  pending: number;
  unknown: number;
}

/** Polls every acknowledged purge until none is pending, or the grace period is over. */
async function settlePurges(pictor: Pictor, ids: string[], auth: Record<string, string>, count: (status: number | string) => void): Promise<PurgeOutcome> {
  const states = new Map<string, string>();
  const deadline = performance.now() + PURGE_GRACE_MS;
  let open = ids;
  while (open.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < open.length; i += 16) {
      await Promise.all(
        open.slice(i, i + 16).map(async (id) => {
          try {
            const reply = await request(`${pictor.adminUrl}/api/v1/purges/${id}`, { headers: auth, timeoutMs: REQUEST_TIMEOUT_MS });
            count(reply.status);
            const status = reply.status === 200 ? (JSON.parse(reply.body.toString()) as { data: { attributes: { status: string } } }).data.attributes.status : `HTTP ${reply.status}`;
            states.set(id, status);
            if (status === 'pending') next.push(id);
          } catch (error) {
            count(`ERR ${(error as NodeJS.ErrnoException).code ?? 'request'}`);
            states.set(id, 'unknown');
          }
        }),
      );
    }
    open = next;
    if (open.length === 0 || performance.now() > deadline) break;
    await sleep(500);
  }
  const values = [...states.values()];
  const countOf = (status: string): number => values.filter((value) => value === status).length;
  return { completed: countOf('completed'), failed: countOf('failed'), pending: countOf('pending'), unknown: ids.length - countOf('completed') - countOf('failed') - countOf('pending') };
}

/** The lowest resident memory of each 10 s window of the traffic (see PLATEAU_GROWTH). */
function floors(samples: Sample[]): { window: number; rssMb: number }[] {
  const byWindow = new Map<number, number>();
  for (const sample of samples) {
    const window = Math.floor(sample.seconds / WINDOW_SECONDS);
    byWindow.set(window, Math.min(byWindow.get(window) ?? Infinity, sample.rssMb));
  }
  return [...byWindow].map(([window, rssMb]) => ({ window, rssMb }));
}

function verdict(samples: Sample[]): { growing: boolean; text: string } {
  const all = floors(samples);
  const third = all.length / 3;
  const middle = median(all.slice(Math.floor(third), Math.floor(2 * third)).map((f) => f.rssMb));
  const last = median(all.slice(Math.floor(2 * third)).map((f) => f.rssMb));
  const growth = (last - middle) / middle;
  const growing = !(growth <= PLATEAU_GROWTH);
  const rule =
    `median of the 10 s RSS floors, last third ${last.toFixed(0)} MB vs middle third ${middle.toFixed(0)} MB: ` +
    `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} % (plateau when at most +${PLATEAU_GROWTH * 100} %; a floor is the lowest RSS sampled in a 10 s window)`;
  return { growing, text: `${growing ? '**growth**' : '**plateau**'}: ${rule}` };
}

/** One window's row: its end, RSS floor and peak, heap and external memory and renders at its end. */
function windowRow(samples: Sample[], window: number): string[] | undefined {
  const inWindow = samples.filter((s) => Math.floor(s.seconds / WINDOW_SECONDS) === window);
  const last = inWindow.at(-1);
  if (!last) return undefined;
  const rss = inWindow.map((s) => s.rssMb);
  const renderProcesses = Math.max(...inWindow.map((s) => s.renderProcessesMb));
  return [String((window + 1) * WINDOW_SECONDS), Math.min(...rss).toFixed(0), Math.max(...rss).toFixed(0), renderProcesses.toFixed(0), last.heapMb.toFixed(0), last.externalMb.toFixed(0), String(last.renders)];
}

interface ReportInput {
  minutes: number;
  samples: Sample[];
  idle: Sample | undefined;
  /** RSS of bin/pictor.js when it runs the server as its child (see bin/allocator.js). */
  launcherMb: number | undefined;
  tally: Tally;
  acknowledged: number;
  outcome: PurgeOutcome | undefined;
  crash: { seconds: number; code: number | null; output: string } | undefined;
  lastHostile: { at: number; request: HostileRequest }[];
  distinct: number;
  command: string;
}

function report(input: ReportInput): string {
  const { samples, tally, outcome, crash } = input;
  const lines: string[] = [`## Soak: ${input.minutes} min of mixed traffic (\`npm run soak\`)`, ''];
  lines.push(
    `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. One \`pictor serve\` process (\`${input.command}\`) on 127.0.0.1, small tiers (${SERVE_ARGS.join(' ')}) so that they fill within the first third. ` +
      'Four clients render (most URLs distinct: tiny PNGs at many sizes and formats, 640×480 and 1600×1067 photos at many widths and qualities, a few AVIF; 10 % repeats; 5 % on a second Source by Host), ' +
      'one purges (exact, prefix, whole Source; a burst over the rate limit every 40 turns, waiting out `Retry-After`), one edits the second Source (PATCH name and default_params every 2 s), one sends hostile requests (every 200 ms, in turn). RSS from /proc each second (floor and peak per 10 s window), heap and external from /metrics.' +
      (input.launcherMb === undefined ? '' : ` The server runs as the child of bin/pictor.js, which started it with glibc's fixed mmap threshold (this Node cannot replace a running program); the launcher's own RSS, not in the table: ${input.launcherMb.toFixed(0)} MB.`),
    '',
  );
  if (crash) {
    lines.push(`**CRASH: the Pictor process exited (code ${crash.code}) ${crash.seconds.toFixed(0)} s into the traffic.** Last hostile requests sent before it:`, '');
    for (const { at, request } of input.lastHostile) lines.push(`- ${at.toFixed(1)} s: ${request.method} ${request.path.slice(0, 120)} (${request.what})`);
    lines.push('', 'Its last output:', '', '```', crash.output.trim(), '```', '');
  }
  const v = verdict(samples);
  lines.push(`Memory: ${v.text}.`, '');
  const windows = floors(samples).map((f) => f.window);
  const every = Math.max(1, Math.ceil(windows.length / 15)); // at most about 15 rows in the report
  const rows = windows.filter((w, i) => i % every === 0 || i === windows.length - 1).map((w) => windowRow(samples, w)!);
  if (input.idle) {
    const { seconds, rssMb, renderProcessesMb, heapMb, externalMb, renders } = input.idle;
    rows.push([`${seconds.toFixed(0)} (after, purges settled)`, rssMb.toFixed(0), rssMb.toFixed(0), renderProcessesMb.toFixed(0), heapMb.toFixed(0), externalMb.toFixed(0), String(renders)]);
  }
  lines.push(table(['s', 'RSS floor MB', 'RSS peak MB', 'render processes MB (peak)', 'heap used MB', 'external MB', 'renders'], rows), '');

  const statuses = [...new Set([...tally.byKind.values()].flatMap((row) => [...row.keys()]))].sort();
  lines.push('Responses by status:', '');
  lines.push(table(['traffic', ...statuses, 'total'], [...tally.byKind].map(([kind, row]) => [kind, ...statuses.map((s) => String(row.get(s) ?? 0)), String([...row.values()].reduce((a, b) => a + b, 0))])), '');
  lines.push(`Distinct render URLs asked: ${input.distinct}.`, '');
  if (tally.serverErrors.length === 0) {
    lines.push('**5xx responses: 0.**', '');
  } else {
    lines.push(`**5xx responses: ${tally.serverErrors.length}.**`, '');
    for (const error of tally.serverErrors.slice(0, 30)) lines.push(`- ${error.status} ${error.kind}: ${error.method} ${error.url.slice(0, 160)}`);
    lines.push('');
  }
  if (outcome) {
    const all = outcome.completed === input.acknowledged;
    lines.push(`Purges: ${input.acknowledged} acknowledged, ${outcome.completed} completed, ${outcome.failed} failed, ${outcome.pending} still pending and ${outcome.unknown} unknown after a grace period of up to ${PURGE_GRACE_MS / 1000} s — ${all ? '**every acknowledged purge completed**' : '**NOT every acknowledged purge completed**'}.`, '');
  } else {
    lines.push(`Purges: ${input.acknowledged} acknowledged; completion not checked (the server was gone).`, '');
  }
  return `${lines.join('\n')}\n`;
}

/** The run's temp dir while it exists, so that an interrupted run removes it too. */
let tmpDir: string | undefined;

await runToTheEnd('soak', main, () => {
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});
