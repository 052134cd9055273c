import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

/**
 * A real PostgreSQL for tests: `initdb` into a temporary directory, a server on a free loopback port, and
 * the controls failure tests need (restart, kill -9). As root, every server command runs as the `postgres`
 * user (initdb refuses root), in directories that user owns.
 *
 * `durable: false` turns fsync off, for tests that do not check durability across a crash of the machine
 * (a killed PostgreSQL process still loses nothing: commits reach the OS before they are acknowledged).
 */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  /** A URL to a new, empty database of this server (one per test keeps tests apart). */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown then start again on the same port (clients see their connections closed). */
  restart(): Promise<void>;
  /** Stops the server (fast), e.g. to test what clients do while it is down. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and deletes its files. */
  stop(): Promise<void>;
}

export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((name) => fs.existsSync(path.join(root, name, 'bin', 'initdb')));
  versions.sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  return newest === undefined ? undefined : path.join(root, newest, 'bin');
}

export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries are not installed (apt-get install -y postgresql)');
  const asRoot = process.getuid?.() === 0;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-pg-'));
  fs.chmodSync(work, 0o755);
  const dataDir = path.join(work, 'data');
  const run = (command: string, args: string[]): void => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', path.join(bin, command), ...args] : [path.join(bin, command), ...args];
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: work });
    if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr || result.stdout}`);
  };
  if (asRoot) execFileSync('chown', ['postgres:postgres', work]);
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = [`-c listen_addresses=127.0.0.1`, `-p ${port}`, `-k ${work}`, '-c max_connections=200'];
  if (options.durable === false) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  const start = async (): Promise<void> => run('pg_ctl', ['-D', dataDir, '-l', path.join(work, 'server.log'), '-w', '-t', '30', '-o', settings.join(' '), 'start']);
  const stopServer = async (): Promise<void> => run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const cleanup = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch {
      // already stopped
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  return {
    url,
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await stopServer();
      await start();
    },
    stopServer,
    startServer: start,
    async stop() {
      try {
        await stopServer();
      } catch {
        // stopped already (or killed): the cleanup below removes the files either way
      }
      cleanup();
      process.removeListener('exit', cleanup);
    },
  };
}
