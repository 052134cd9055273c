/** Pictor under test: `node dist/cli/index.js serve` as its own process, plus its admin API and metrics. */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './http.ts';
import { start, stop, waitForOutput, type Child } from './proc.ts';

export interface PurgeStatus {
  status: 'pending' | 'completed' | 'failed';
  created_at: string;
  completed_at: string | null;
  matched: number | null;
}

export interface Pictor {
  child: Child;
  /**
   * The process that serves: the child itself, or, when it was started through bin/pictor.js on a Node
   * that cannot replace a running program, the process that the child started with the allocator setting.
   */
  serverPid: number;
  dataDir: string;
  renderUrl: string;
  adminUrl: string;
  apiKey: string;
  command: string;
  /** Renders so far: pictor_render_duration_seconds_count summed over its labels. */
  renders(): Promise<number>;
  /** Any metric summed over its labels (optionally only series whose labels contain `labelFilter`). */
  metric(name: string, labelFilter?: string): Promise<number>;
  /** POSTs a purge of the asset at `url`; returns the purge id. */
  purge(url: string): Promise<string>;
  /** The purge's status; with `waitSeconds`, once it is no longer pending (or when that time has passed). */
  purgeStatus(id: string, waitSeconds?: number): Promise<PurgeStatus>;
  stop(): Promise<void>;
}

export const REPO = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/**
 * What bin/allocator.js gives `pictor serve` (and its render processes) when users start it: the bench starts
 * `dist/cli/index.js` itself, so it gives the same — V8's young generation and glibc's mmap threshold.
 */
export const SERVE_NODE_OPTIONS = ['--max-semi-space-size=8'];
export const serveEnvironment = (): NodeJS.ProcessEnv => ({ ...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '1048576' });

export interface StartOptions {
  /** More `serve` flags; a flag given here again replaces the default above (the last one wins). No purge rate limit unless given. */
  args?: string[];
  /** The script run by node: `dist/cli/index.js` by default, or `bin/pictor.js` (what `npm start` runs). */
  entry?: string;
}

export async function startPictor(root: string, name: string, assets: string, options: StartOptions = {}): Promise<Pictor> {
  const data = join(root, `pictor-${name}`);
  mkdirSync(data, { recursive: true });
  const entry = options.entry ?? 'dist/cli/index.js';
  const args = [...(entry === 'bin/pictor.js' ? [] : SERVE_NODE_OPTIONS), entry, 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data', data, '--assets', assets, '--log-level', 'warn', ...(options.args ?? [])];
  if (!args.includes('--purge-rate-limit')) args.push('--purge-rate-limit', '1000000');
  const child = start(process.execPath, args, { cwd: REPO, env: serveEnvironment() });
  try {
    await waitForOutput(child, /API key:\s+ak_[0-9a-f]{64}/, 'pictor');
  } catch (error) {
    await stop(child, 'SIGKILL');
    throw error;
  }
  const output = child.output();
  const renderUrl = /Render URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const adminUrl = /Admin URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const apiKey = /API key:\s+(ak_[0-9a-f]{64})/.exec(output)![1]!;
  const auth = { authorization: `Bearer ${apiKey}` };

  const metric = async (metricName: string, labelFilter = ''): Promise<number> => {
    const text = (await request(`${adminUrl}/metrics`)).body.toString();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${metricName}{`) && !line.startsWith(`${metricName} `)) continue;
      if (labelFilter && !line.includes(labelFilter)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  };

  return {
    child,
    serverPid: serverProcess(child.pid),
    dataDir: data,
    renderUrl,
    adminUrl,
    apiKey,
    command: `node ${args.join(' ')}`,
    renders: () => metric('pictor_render_duration_seconds_count'),
    metric,
    async purge(url) {
      const body = JSON.stringify({ data: { type: 'purges', attributes: { url } } });
      const reply = await request(`${adminUrl}/api/v1/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/vnd.api+json' }, body });
      if (reply.status !== 200) throw new Error(`purge ${url}: ${reply.status} ${reply.body.toString().slice(0, 300)}`);
      return (JSON.parse(reply.body.toString()) as { data: { id: string } }).data.id;
    },
    async purgeStatus(id, waitSeconds) {
      const reply = await request(`${adminUrl}/api/v1/purges/${id}${waitSeconds ? `?wait=${waitSeconds}` : ''}`, { headers: auth });
      if (reply.status !== 200) throw new Error(`purge status ${id}: ${reply.status}`);
      return (JSON.parse(reply.body.toString()) as { data: { attributes: PurgeStatus } }).data.attributes;
    },
    // A graceful stop finishes queued purges; give it a few seconds, then SIGKILL (the data dir is thrown away).
    stop: () => stop(child, 'SIGTERM', 5_000),
  };
}

function serverProcess(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const server = children.find((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').includes('serve'));
  return server ?? pid;
}
