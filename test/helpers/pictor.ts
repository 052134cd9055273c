import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Pictor, type PictorHooks } from '../../src/app.ts';
import { resolveOptions, type PictorOptions } from '../../src/config/options.ts';
import { purgeAndWait, purgeStatus, requestPurge, waitForPurge, type PurgeDocument } from './purges.ts';

export type { PurgeDocument } from './purges.ts';

export interface TestPictor {
  pictor: Pictor;
  renderUrl: string;
  adminUrl: string;
  renderPort: number;
  adminPort: number;
  apiKey: string;
  /** The dashboard password of `admin`, created on the first start of the data directory ('' on later starts). */
  adminPassword: string;
  dataDir: string;
  assetsDir: string;
  defaultSourceId: string;
  stop(): Promise<void>;
  /** Writes (or replaces) a file in the assets folder. */
  put(name: string, body: Buffer | string): Promise<void>;
  remove(name: string): Promise<void>;
  purge(url: string, attributes?: Record<string, unknown>): Promise<{ status: number; body: PurgeDocument }>;
  /** Purges and waits until the purge is no longer pending. */
  purgeAndWait(url: string): Promise<Record<string, unknown>>;
  purgeStatus(id: string): Promise<Record<string, unknown>>;
  /** Waits until the purge is no longer pending. */
  waitForPurge(id: string): Promise<Record<string, unknown>>;
}

/** A real Pictor on loopback ports picked by the OS, with its own data and assets folders. */
export async function startPictor(
  setup: { assets?: Record<string, Buffer | string>; options?: Partial<Record<keyof PictorOptions, string>>; hooks?: PictorHooks; dataDir?: string } = {},
): Promise<TestPictor> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-test-'));
  const dataDir = setup.dataDir ?? path.join(root, 'data');
  const assetsDir = path.join(root, 'assets');
  await fs.mkdir(assetsDir, { recursive: true });
  for (const [name, body] of Object.entries(setup.assets ?? {})) {
    await fs.mkdir(path.dirname(path.join(assetsDir, name)), { recursive: true });
    await fs.writeFile(path.join(assetsDir, name), body);
  }
  const options = resolveOptions(
    { host: '127.0.0.1', port: '0', adminPort: '0', dataDir, assetsDir, logLevel: 'silent', ...setup.options },
    {},
  );
  const pictor = new Pictor(options, setup.hooks);
  const started = await pictor.start().catch(async (error: unknown) => {
    await pictor.stop().catch(() => {});
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  });
  const renderPort = Number(new URL(started.renderUrl).port);
  const adminPort = Number(new URL(started.adminUrl).port);
  const apiKey = started.firstApiKey ?? '';
  const adminPassword = started.firstAdminPassword ?? '';
  const adminUrl = started.adminUrl;

  const api = { adminUrl, apiKey };

  return {
    pictor,
    renderUrl: started.renderUrl,
    adminUrl,
    renderPort,
    adminPort,
    apiKey,
    adminPassword,
    dataDir,
    assetsDir,
    defaultSourceId: started.defaultSourceId,
    stop: async () => {
      try {
        await pictor.stop();
      } finally {
        await fs.rm(root, { recursive: true, force: true });
      }
    },
    put: async (name, body) => {
      const file = path.join(assetsDir, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      await fs.writeFile(tmp, body);
      await fs.rename(tmp, file);
    },
    remove: (name) => fs.rm(path.join(assetsDir, name), { force: true }),
    purge: (url, attributes) => requestPurge(api, url, attributes),
    purgeStatus: (id) => purgeStatus(api, id),
    purgeAndWait: (url) => purgeAndWait(api, url),
    waitForPurge: (id) => waitForPurge(api, id),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that sends the path exactly as given (fetch would normalise `..` and encode spaces). */
export function rawGet(port: number, rawPath: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** A flat-colour JPEG (or PNG) of the given size, made by sharp. */
export function solidImage(width: number, height: number, rgb: [number, number, number], format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return (format === 'png' ? image.png() : image.jpeg({ quality: 90 })).toBuffer();
}

/** The average colour of an encoded image, to tell versions apart after a purge. */
export async function meanColour(image: Buffer): Promise<[number, number, number]> {
  const { channels } = await sharp(image).stats();
  return [Math.round(channels[0]!.mean), Math.round(channels[1]!.mean), Math.round(channels[2]!.mean)];
}

/** A gate that holds callers until opened: to keep an origin read in flight while a purge runs. */
export function gate(): { wait: () => Promise<void>; open: () => void; waiting: () => number } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let waiters = 0;
  return {
    wait: async () => {
      waiters++;
      await opened;
    },
    open: () => release(),
    waiting: () => waiters,
  };
}

/**
 * Waits until `check` holds. The bound only turns a wait that would never end into a failure: it is generous,
 * since a loaded machine may take long.
 */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
