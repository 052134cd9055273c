/**
 * How the Sources API scales with the number of Sources: a real Pictor (in-process, loopback, temporary data
 * directory) gets Sources created through the API, up to 10,000. At each checkpoint it times a create, a page
 * read, a filtered read, a sorted read and a GET by id (medians), and prints them with their ratio against the
 * first checkpoint: a ratio near 1 means the request does not grow with the number of Sources.
 *
 *   node --import tsx bench/sources-scale.ts            (npm run bench:sources)
 *   BENCH_SOURCES=10,1000 node --import tsx bench/sources-scale.ts
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pictor } from '../src/app.ts';
import { resolveOptions } from '../src/config/options.ts';
import { median } from './lib/stats.ts';

const CHECKPOINTS = (process.env.BENCH_SOURCES ?? '10,1000,10000').split(',').map(Number);
/** Timed requests of each kind per checkpoint (the creates among them add a few Sources). */
const SAMPLES = 25;
const TYPES = ['webfolder', 's3', 's3_compatible', 'gcs'] as const;

interface Api {
  (method: string, url: string, body?: unknown): Promise<{ status: number; body: { data?: unknown } }>;
}

function client(adminUrl: string, apiKey: string): Api {
  return async (method, url, body) => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await fetch(`${adminUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { data?: unknown } };
  };
}

/** Source number i: a mix of types and states, each with a custom domain and a subdomain label (so every create checks domains). */
function sourceDocument(i: number): unknown {
  const type = TYPES[i % TYPES.length]!;
  const fields: Record<string, unknown> =
    type === 'webfolder'
      ? { webfolder_base_url: `http://127.0.0.1:9/${i}/` }
      : type === 's3'
        ? { s3_bucket: `bucket-${i % 50}`, region: 'eu-west-1' }
        : type === 's3_compatible'
          ? { bucket_name: `bucket-${i}`, storage_provider: 'other' }
          : { gcs_bucket: `bucket-${i}` };
  return {
    data: {
      type: 'sources',
      attributes: {
        name: `Source ${(i * 7919) % 100_003}`,
        enabled: i % 3 !== 0,
        deployment: { type, ...fields, custom_domains: [`img${i}.example.com`], imgix_subdomains: [`site-${i}`] },
      },
    },
  };
}

async function timed(run: () => Promise<{ status: number }>, expected: number): Promise<number> {
  const started = performance.now();
  const { status } = await run();
  const elapsed = performance.now() - started;
  if (status !== expected) throw new Error(`expected ${expected}, got ${status}`);
  return elapsed;
}

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-bench-sources-'));
  await fs.mkdir(path.join(root, 'assets'));
  const options = resolveOptions(
    { host: '127.0.0.1', port: '0', adminPort: '0', dataDir: path.join(root, 'data'), assetsDir: path.join(root, 'assets'), logLevel: 'silent', baseDomain: 'images.example.com', purgeRateLimit: '100000' },
    {},
  );
  const pictor = new Pictor(options);
  try {
    const started = await pictor.start();
    const api = client(started.adminUrl, started.firstApiKey!);
    let created = 0;
    const create = () => api('POST', '/api/v1/sources', sourceDocument(created++));
    const rows: { n: number; medians: Record<string, number> }[] = [];
    const kinds = ['create', 'page', 'filtered', 'sorted', 'get by id'] as const;

    for (const checkpoint of CHECKPOINTS) {
      const growStarted = performance.now();
      while (created < checkpoint) {
        const { status, body } = await create();
        if (status !== 201) throw new Error(`create ${created} failed: ${status} ${JSON.stringify(body)}`);
      }
      const growSeconds = (performance.now() - growStarted) / 1000;
      const n = created;
      const middlePage = (await api('GET', `/api/v1/sources?page[number]=${Math.floor(n / 40)}&page[size]=20`)).body.data as { id: string }[];
      const someId = middlePage[0]!.id;
      const samples: Record<(typeof kinds)[number], number[]> = { create: [], page: [], filtered: [], sorted: [], 'get by id': [] };
      const measure: Record<(typeof kinds)[number], () => Promise<number>> = {
        create: () => timed(create, 201),
        page: () => timed(() => api('GET', '/api/v1/sources?page[size]=20'), 200),
        filtered: () => timed(() => api('GET', '/api/v1/sources?filter[deployment.type]=s3&filter[enabled]=true&page[size]=20'), 200),
        sorted: () => timed(() => api('GET', '/api/v1/sources?sort=-name&page[size]=20'), 200),
        'get by id': () => timed(() => api('GET', `/api/v1/sources/${someId}`), 200),
      };
      // Interleaved, so a burst of other work on the machine touches every kind alike. Untimed rounds first (more
      // before the first checkpoint, for the JIT), with few creates, so the count stays near the checkpoint.
      const warmUp = rows.length === 0 ? 40 : 5;
      for (let round = -warmUp; round < SAMPLES; round++) {
        if (round < 0) {
          for (const kind of kinds) if (kind !== 'create' || round >= -3) await measure[kind]();
          continue;
        }
        for (const kind of kinds) samples[kind].push(await measure[kind]());
      }
      const medians = Object.fromEntries(kinds.map((kind) => [kind, median(samples[kind])]));
      rows.push({ n, medians });
      console.log(`N = ${n} (grown in ${growSeconds.toFixed(1)} s): ${kinds.map((kind) => `${kind} ${medians[kind]!.toFixed(2)} ms`).join(', ')}`);
    }

    const base = rows[0]!;
    console.log(`\n| Sources | ${kinds.map((kind) => `${kind} (ms, ×N=${base.n})`).join(' | ')} |`);
    console.log(`|---:|${kinds.map(() => '---:').join('|')}|`);
    for (const { n, medians } of rows) {
      console.log(`| ${n} | ${kinds.map((kind) => `${medians[kind]!.toFixed(2)} (×${(medians[kind]! / base.medians[kind]!).toFixed(2)})`).join(' | ')} |`);
    }
  } finally {
    await pictor.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
