/**
 * `npm run bench:search-pg`: the Purges search ("URL contains") on PostgreSQL as the purge log grows, through
 * the store (PurgeLog.list, as the API and the dashboard ask), with the pg_trgm index asked for the rarest piece
 * of the text (postgres/url-search.ts), for the whole text, and without it (the ILIKE scan it replaced); and a
 * text every URL contains. A private PostgreSQL (test/helpers/postgres.ts); the log is filled in SQL with URLs
 * shaped as bench/purge-scale.ts makes them, so the two benches compare. Medians of repeated runs; prints a
 * markdown table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStores } from '../src/store/open-stores.ts';
import { startPostgres } from '../test/helpers/postgres.ts';

const SIZES = (process.env.BENCH_PURGES ?? '10000,200000,1000000').split(',').map(Number);

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

async function time(run: () => unknown, repeat = 15): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/** Grows the log to `count` completed purges, in batches of SQL (the store's own insert is not what is measured). */
async function growTo(client: pg.Client, from: number, count: number): Promise<void> {
  for (let start = from; start < count; start += 100_000) {
    await client.query(
      `INSERT INTO purge_log (id, url, source_id, path, match, scopes, status, matched, created_at, completed_at)
       SELECT gen_random_uuid(), 'https://images.example.com/photos/' || (i % 997) || '/photo-' || i || '.jpg', 'src', '/p', 'exact',
              ARRAY['a:src/p'], 'completed', 3, 1700000000000 + i, 1700000000000 + i
       FROM generate_series($1::int, $2::int) AS i`,
      [start, Math.min(count, start + 100_000) - 1],
    );
  }
  await client.query('ANALYZE purge_log');
}

const postgres = await startPostgres({ durable: false });
const dataDir = mkdtempSync(join(tmpdir(), 'pictor-search-pg-'));
const url = await postgres.createDatabase('search');
const stores = await openStores({ dataDir, databaseUrl: url });
const client = new pg.Client({ connectionString: url });
await client.connect();
const rows: string[][] = [];
try {
  let filled = 0;
  for (const size of SIZES) {
    await growTo(client, filled, size);
    filled = size;
    const needle = `photo-${Math.floor(size / 2)}.jpg`;
    const search = () => stores.purgeLog.list({ urlContains: needle, limit: 25, offset: 0 });
    const indexed = await time(search);
    // The whole text asked of the index, as the store did before it asked for the rarest piece only.
    const pattern = `%${needle}%`;
    const whole = await time(async () => {
      await client.query('SELECT count(*) FROM purge_log WHERE url ILIKE $1', [pattern]);
      await client.query('SELECT * FROM purge_log WHERE url ILIKE $1 ORDER BY created_at DESC, seq DESC LIMIT 25', [pattern]);
    });
    // A text every purge's URL contains: the exact total counts them all.
    const common = await time(() => stores.purgeLog.list({ urlContains: '.jpg', limit: 25, offset: 0 }), 3);
    // The same query without the index: the plan PostgreSQL made before it existed.
    await client.query('BEGIN; DROP INDEX purge_log_url');
    const scan = await time(() => client.query(`SELECT * FROM purge_log WHERE url ILIKE $1 ORDER BY created_at DESC, seq DESC LIMIT 25`, [`%${needle}%`]), 5);
    await client.query('ROLLBACK');
    rows.push([size.toLocaleString('en'), `${indexed.toFixed(2)} ms`, `${whole.toFixed(2)} ms`, `${scan.toFixed(1)} ms`, `${common.toFixed(0)} ms`]);
    process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
  }
} finally {
  await client.end();
  await stores.close();
  await postgres.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const header = [
  'Purges kept (PostgreSQL)',
  'Search "URL contains" (the rarest piece through the pg_trgm index)',
  'Whole text through the index (before)',
  'Same search by ILIKE scan (before the index)',
  'Search for ".jpg" (every purge)',
];
process.stdout.write(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`);
