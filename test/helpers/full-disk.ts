import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliResult } from './cli.ts';
import { solidImage } from './pictor.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { mountSmallFs, type SmallFs } from './small-fs.ts';

/**
 * A `pictor serve` process whose data directory is on a small real file system (small-fs.ts), for tests of
 * writes made while that disk is full: the writes are tried until the store refuses one, the disk is freed,
 * and the server is restarted on the same data directory to see what was kept.
 */
export interface FullDiskPictor {
  small: SmallFs;
  dataDir: string;
  /** The default Source's folder (on the ordinary disk): it holds `photo.jpg`. */
  assetsDir: string;
  server: ServerProcess;
  apiKey: string;
  adminPassword: string;
  defaultSourceId: string;
  /** The admin API with the first admin key; `detail` is the first error's. */
  api(method: string, urlPath: string, body?: unknown): Promise<ApiAnswer>;
  /** Stops the server (it must exit cleanly) and starts it again on the same data directory. */
  restart(): Promise<void>;
  /** Runs the CLI where the small file system is visible. */
  cli(args: string[], input?: string): Promise<CliAnswer>;
}

export interface ApiAnswer {
  status: number;
  // JSON:API documents, read by the assertions as they are
  body: any;
  detail: string | undefined;
}

export type CliAnswer = CliResult;

/** What a write answered: `ok` (2xx, or exit 0) or `refused` (503, or a non-zero exit), and the text to check. */
export interface Outcome {
  ok: boolean;
  /** The refusal's message (a 503's detail or page, the CLI's stderr); checked to name the full store. */
  text: string;
  /** What the refusal must say, when not FULL_STORE. */
  says?: RegExp;
}

/** Mounts a small file system and starts a server with its data directory there; `hooks.after` undoes both. */
export async function startFullDiskPictor(hooks: { after(fn: () => Promise<void>): void }): Promise<FullDiskPictor> {
  const small = await mountSmallFs(hooks, 24 * 1024 * 1024);
  const assetsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-full-disk-assets-'));
  hooks.after(() => fs.rm(assetsDir, { recursive: true, force: true }));
  await fs.writeFile(path.join(assetsDir, 'photo.jpg'), await solidImage(40, 30, [10, 100, 200]));
  const dataDir = path.join(small.dir, 'data');
  const start = () => spawnServer(['--data', dataDir, '--assets', assetsDir, '--purge-rate-limit', '100000'], {}, (argv) => small.command(argv));
  let server = await start();
  hooks.after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await server.exited;
  });
  const apiKey = server.apiKey!;
  const adminPassword = /Dashboard password:\s+(\S+)/.exec(server.output())![1]!;

  const api = async (method: string, urlPath: string, body?: unknown): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
    let payload: BodyInit | undefined;
    if (Buffer.isBuffer(body)) {
      payload = new Uint8Array(body);
      headers['content-type'] = 'image/jpeg';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/vnd.api+json';
    }
    const response = await fetch(`${server.adminUrl}${urlPath}`, { method, headers, body: payload });
    const text = await response.text();
    const parsed = text === '' ? undefined : JSON.parse(text);
    return { status: response.status, body: parsed, detail: parsed?.errors?.[0]?.detail };
  };
  const sources = await api('GET', '/api/v1/sources');
  const defaultSourceId = (sources.body.data as { id: string; attributes: { name: string } }[]).find((source) => source.attributes.name === 'default')!.id;

  const fixture: FullDiskPictor = {
    small,
    dataDir,
    assetsDir,
    server,
    apiKey,
    adminPassword,
    defaultSourceId,
    api,
    restart: async () => {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.output());
      server = await start();
      fixture.server = server;
    },
    cli: (args, input = '') => runCli(args, { input, command: small.command }),
  };
  return fixture;
}


/** What a refusal says: the store cannot write because its disk is full, and nothing was recorded. */
export const FULL_STORE = /cannot write to its store \(the disk holding it is full: SQLITE_(FULL|IOERR\w*)\), so nothing was recorded/;

/**
 * Tries `attempt(0)`, `attempt(1)`, … on a full disk until one is refused (the first writes may still fit in
 * space the store had already taken). Every answer must be an acknowledgement or a refusal naming the full
 * store; the writes acknowledged before the refusal are returned, to be found again after a restart.
 */
export async function untilRefused(what: string, attempt: (i: number) => Promise<Outcome>, limit = 40): Promise<{ acknowledged: number[]; refused: number }> {
  const acknowledged: number[] = [];
  for (let i = 0; i < limit; i++) {
    const outcome = await attempt(i);
    if (outcome.ok) {
      acknowledged.push(i);
      continue;
    }
    assert.match(outcome.text, outcome.says ?? FULL_STORE, `${what} ${i} was refused for another reason`);
    return { acknowledged, refused: i };
  }
  assert.fail(`${what}: ${limit} writes on a full disk were all acknowledged; the full disk was never met`);
}

/** An API answer as an outcome: 2xx acknowledged, 503 refused; anything else fails the test. */
export function apiOutcome(answer: ApiAnswer, what: string): Outcome {
  if (answer.status >= 200 && answer.status < 300) return { ok: true, text: '' };
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.detail ?? JSON.stringify(answer.body)}`);
  return { ok: false, text: answer.detail ?? '' };
}
