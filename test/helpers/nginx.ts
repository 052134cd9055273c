import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { childrenOf, signal } from './pids.ts';

/**
 * A real nginx for tests: `nginx -g 'daemon off;'` (in the foreground, so the spawned process is the master)
 * with a private main configuration around the given `http`-level configuration, its pid file, logs and temp
 * folders in a temporary directory. Stopped by PID, also when the test process exits.
 */
export interface TestNginx {
  /** The temporary directory: put files the configuration names here (certificates, logs). */
  readonly dir: string;
  /** What nginx wrote to standard error (its error log). */
  output(): string;
  stop(): Promise<void>;
}

/** A temporary directory for an nginx; readable by its workers, which run as another user when started as root. */
export function nginxDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-nginx-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts nginx with `http` (server blocks, upstreams, …) included in the `http` block of a main configuration
 * of its own (`main`: lines before it, such as `load_module`), and waits until every port in `ports` accepts connections on 127.0.0.1.
 */
export async function startNginx(options: { dir: string; http: string; ports: number[]; main?: string[] }): Promise<TestNginx> {
  const { dir } = options;
  fs.writeFileSync(path.join(dir, 'site.conf'), options.http);
  const temp = (name: string) => path.join(dir, 'temp', name);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      ...(options.main ?? []),
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 256; }',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${name}_temp_path ${temp(name)};`),
      `  include ${path.join(dir, 'site.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  fs.mkdirSync(path.join(dir, 'temp'));
  // -e: the error log before the configuration is read (the compiled-in one is the system's).
  const child = spawn('nginx', ['-e', 'stderr', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;

  let stopped = false;
  const killNow = (): void => {
    if (stopped) return;
    stopped = true;
    signal(pid, 'SIGKILL');
    // Workers leave with their master; a leftover one would hold the ports, so it is ended too.
    for (const worker of childrenOf(pid)) signal(worker, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  const deadline = Date.now() + 15_000;
  for (const port of options.ports) {
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        killNow();
        process.removeListener('exit', killNow);
        throw new Error(`nginx did not start (${child.exitCode ?? 'timeout'}):\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    dir,
    output: () => output,
    async stop() {
      if (stopped) return;
      const workers = childrenOf(pid);
      signal(pid, 'SIGQUIT'); // graceful: workers finish their requests
      const timer = setTimeout(killNow, 5000);
      await exited;
      clearTimeout(timer);
      for (const worker of workers) signal(worker, 'SIGKILL');
      killNow();
      process.removeListener('exit', killNow);
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Debian's ngx_cache_purge (libnginx-mod-http-cache-purge), loaded by a test's main configuration. */
export const CACHE_PURGE_MODULE = 'load_module /usr/lib/nginx/modules/ngx_http_cache_purge_module.so;';
