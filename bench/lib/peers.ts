/** The peers Pictor is compared with: ipx (own process), nginx (static file, one worker), the naive sharp loop. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './http.ts';
import { REPO } from './pictor.ts';
import { freePort, run, start, stop, waitForOutput, type Child } from './proc.ts';

export interface Server {
  url: string;
  child: Child;
  command: string;
  stop(): Promise<void>;
}

export type IpxMode = 'defaults' | 'parity';

/** Runs one of bench/peers/*.ts as its own Node process and waits for the line announcing its URL. */
async function startNodeScript(script: string, scriptArgs: string[], announce: RegExp): Promise<Server> {
  const args = ['--import', 'tsx', `bench/peers/${script}`, ...scriptArgs];
  const child = start(process.execPath, args, { cwd: REPO });
  try {
    const [, url] = await waitForOutput(child, announce, script);
    return { url: url!, child, command: `node ${args.join(' ')}`, stop: () => stop(child) };
  } catch (error) {
    await stop(child, 'SIGKILL');
    throw error;
  }
}

/** ipx 3 on 127.0.0.1 serving `dir` (bench/peers/ipx-server.ts). */
export function startIpx(dir: string, mode: IpxMode): Promise<Server> {
  return startNodeScript('ipx-server.ts', [dir, mode], /IPX URL: (\S+?)\/?\n/);
}

/** A bare Node http server serving one file's bytes from memory (bench/peers/static-node.ts). */
export function startStaticNode(file: string, type: string, headersFile?: string): Promise<Server> {
  return startNodeScript('static-node.ts', headersFile ? [file, type, headersFile] : [file, type], /Node URL: (\S+?)\/?\n/);
}

/** nginx from Debian, one worker, no access log, serving `root` as static files; config in a temp dir. */
export async function startNginx(dir: string, root: string): Promise<Server> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { image/webp webp; image/jpeg jpg; image/avif avif; }
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const args = ['-c', conf, '-g', 'daemon off;'];
  const child = start('nginx', args);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (true) {
    const probe = await request(`${url}/`).then(() => true, () => false);
    if (probe) break;
    if (child.process.exitCode !== null || Date.now() > deadline) {
      await stop(child, 'SIGKILL');
      throw new Error(`nginx did not start:\n${child.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // SIGQUIT: graceful shutdown of master and worker; stop() SIGKILLs the group if it lingers.
  return { url, child, command: `nginx ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}  # config: worker_processes 1; access_log off; sendfile on; keepalive_requests 1000000`, stop: () => stop(child, 'SIGQUIT') };
}

export interface NaiveResult {
  renders: number;
  seconds: number;
  cpuSeconds: number;
  exhausted: boolean;
}

export const naiveCommand = (master: string, jobs: string, seconds: number, concurrency: number, effort: number): string[] => [
  '--import', 'tsx', 'bench/peers/naive-loop.ts', master, jobs, String(seconds), String(concurrency), String(effort),
];

export interface EncoderFloor {
  encodes: number;
  /** Mean CPU ms of one encode over the jobs (the pool's mix of formats and widths). */
  meanMs: number;
  perFormat: Record<string, number>;
}

export function encoderFloorCommand(master: string, jobsFile: string, count: number, avifEffort: number): string[] {
  return ['--import', 'tsx', 'bench/peers/encoder-floor.ts', master, jobsFile, String(count), String(avifEffort)];
}

/** The encoders' own CPU for the first `count` outputs of a job list (bench/peers/encoder-floor.ts). */
export async function runEncoderFloor(master: string, jobsFile: string, count: number, avifEffort: number): Promise<EncoderFloor> {
  const { code, output } = await run(process.execPath, encoderFloorCommand(master, jobsFile, count, avifEffort), { cwd: REPO, timeoutMs: 300_000 });
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`encoder floor failed (${code}):\n${output}`);
  return JSON.parse(line) as EncoderFloor;
}

export async function runNaive(master: string, jobsFile: string, seconds: number, concurrency: number, avifEffort: number): Promise<NaiveResult> {
  const { code, output } = await run(process.execPath, naiveCommand(master, jobsFile, seconds, concurrency, avifEffort), { cwd: REPO, timeoutMs: (seconds + 60) * 1000 });
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`naive loop failed (${code}):\n${output}`);
  return JSON.parse(line) as NaiveResult;
}
