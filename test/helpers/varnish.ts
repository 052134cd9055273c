import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { assertTool, toolAvailable } from './tools.ts';
import { childrenOf, signal } from './pids.ts';

/**
 * A real Varnish edge for tests: `varnishd -F` (in the foreground, so the spawned process is the manager)
 * on free loopback ports, with its working directory, shared-memory log (`-l 2m`) and storage in a
 * temporary directory. Stopped by PID, also when the test process exits.
 */
export interface TestVarnish {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** The manager process (varnishd -F). */
  readonly managerPid: number;
  /** The cache process, the manager's child, which answers requests (SIGSTOP it to hang the edge). */
  cachePid(): number;
  /** `varnishadm -n <dir> <args…>`: its output. */
  admin(...args: string[]): string;
  stop(): Promise<void>;
}

/** varnishd and varnishadm are installed, and the xkey vmod loads. */
export function varnishAvailable(): boolean {
  return toolAvailable('varnish');
}

/** Compiles a VCL with `varnishd -C`; throws with varnishd's message when it does not compile. */
export function compileVcl(vcl: string): void {
  assertTool('varnish');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-vcl-'));
  fs.chmodSync(work, 0o755); // as root, varnishd reads the file as its own user
  try {
    const file = path.join(work, 'edge.vcl');
    fs.writeFileSync(file, vcl);
    const result = spawnSync('varnishd', ['-C', '-f', file, '-n', path.join(work, 'n')], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`varnishd -C failed (${result.status}):\n${result.stderr}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function startVarnish(options: { vcl: string; name: string; storage?: string }): Promise<TestVarnish> {
  // A port checked free can still be taken before varnishd binds it: then it starts again on others.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchVarnish(options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('Address already in use')) throw error;
    }
  }
}

async function launchVarnish(options: { vcl: string; name: string; storage?: string }): Promise<TestVarnish> {
  assertTool('varnish');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-varnish-'));
  fs.chmodSync(work, 0o755); // as root, varnishd's cache process runs as its own user and reads from here
  const file = path.join(work, 'edge.vcl');
  fs.writeFileSync(file, options.vcl);
  const instance = path.join(work, 'n');
  const port = await freePort();
  const adminPort = await freePort();
  const args = ['-F', '-n', instance, '-a', `127.0.0.1:${port}`, '-T', `127.0.0.1:${adminPort}`, '-f', file, '-s', options.storage ?? 'malloc,32m', '-l', '2m', '-i', options.name];
  const child = spawn('varnishd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const managerPid = child.pid!;

  const cachePid = (): number => {
    // The manager may have short-lived children too (a VCL compiler): the cache process names itself.
    const pid = childrenOf(managerPid).find((child) => {
      try {
        return fs.readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'cache-main';
      } catch {
        return false;
      }
    });
    if (pid === undefined) throw new Error(`varnishd ${managerPid} has no cache process`);
    return pid;
  };
  let stopped = false;
  const killNow = (): void => {
    if (stopped) return;
    stopped = true;
    for (const pid of childrenOf(managerPid)) signal(pid, 'SIGKILL');
    signal(managerPid, 'SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  const deadline = Date.now() + 15_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      killNow();
      process.removeListener('exit', killNow);
      throw new Error(`varnishd did not start (${child.exitCode ?? 'timeout'}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    name: options.name,
    managerPid,
    cachePid,
    admin: (...adminArgs) => {
      const result = spawnSync('varnishadm', ['-n', instance, ...adminArgs], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`varnishadm ${adminArgs.join(' ')} failed: ${result.stdout}${result.stderr}`);
      return result.stdout;
    },
    async stop() {
      if (stopped) return;
      // A stopped cache process would keep the manager waiting for it: let it run, then end both.
      for (const pid of childrenOf(managerPid)) signal(pid, 'SIGCONT');
      signal(managerPid, 'SIGTERM');
      const timer = setTimeout(killNow, 5000);
      await exited;
      clearTimeout(timer);
      killNow();
      process.removeListener('exit', killNow);
    },
  };
}

/** GETs `path` from the edge on `port`: the edge's own entry in Cache-Status (the last one, RFC 9211). */
export function edgeStatus(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(String(response.headers['cache-status']).split(',').at(-1)!.trim()));
      })
      .on('error', reject);
  });
}

/** Whether something answers HTTP on the port (any status: the backends may not be healthy yet). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000, agent: false }, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

