/**
 * `npm run bench:scale`: what the purge history costs as it grows. For each size, a store is filled with that
 * many completed purges (each with its mark), then measured: adding them to the search index (done in the
 * background by the server), the Purges search ("URL contains", answered from the trigram index) against the
 * table scan it replaced, loading the marks at start, and a compaction that
 * forgets them all. Medians of repeated runs; in-process SQLite, no server. Prints a markdown table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { assetScope } from '../src/cache/freshness.ts';
import { PurgeLedger } from '../src/purge/ledger.ts';
import { PurgeRetention } from '../src/purge/retention.ts';
import { openStores } from '../src/store/open-stores.ts';
import type { PurgeLog, PurgeRecord } from '../src/store/purge-log.ts';

const SIZES = (process.env.BENCH_PURGES ?? '10000,200000').split(',').map(Number);
const SOURCE = 'a'.repeat(24);

/** Logs and completes `count` purges, a batch per transaction (as a burst of purges is logged). */
async function fill(log: PurgeLog, count: number): Promise<void> {
  const now = Date.now();
  const batch = 10_000;
  for (let start = 0; start < count; start += batch) {
    const records: PurgeRecord[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const path = `/photos/${i % 997}/photo-${i}.jpg`;
      records.push({
        id: `purge-${i}`,
        url: `https://images.example.com${path}`,
        sourceId: SOURCE,
        path,
        match: 'exact',
        subImage: false,
        parentSourceId: undefined,
        status: 'pending',
        origin: undefined,
        matched: 3,
        generation: undefined,
        error: undefined,
        requestedBy: 'bench',
        createdAt: now - count + i,
        completedAt: undefined,
      });
    }
    await Promise.all(records.map((record) => log.append(record, [assetScope(SOURCE, record.path)], { coordinator: 'bench', claimMs: 60_000 })));
    await Promise.all(records.map((record) => log.complete({ ...record, status: 'completed', origin: 'replaced', completedAt: record.createdAt })));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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

async function measure(count: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pictor-purge-scale-'));
  const stores = await openStores({ dataDir: dir });
  const db = new Database(join(dir, 'pictor.db'), { readonly: true });
  try {
    const log = stores.purgeLog;
    await fill(log, count);
    const indexStarted = performance.now();
    while ((await log.indexForSearch(1000)) === 1000);
    const indexing = performance.now() - indexStarted;
    const needle = `photo-${Math.floor(count / 2)}.jpg`;
    const search = await time(() => log.list({ urlContains: needle, limit: 25, offset: 0 }));
    const scan = await time(() => db.prepare('SELECT * FROM purges WHERE url LIKE ? ORDER BY created_at DESC LIMIT 25').all(`%${needle}%`));
    const heapBefore = process.memoryUsage().heapUsed;
    let ledger: PurgeLedger | undefined;
    const load = await time(async () => (ledger = await PurgeLedger.open(log)), 3);
    const heapPerMark = (process.memoryUsage().heapUsed - heapBefore) / count;
    const retention = new PurgeRetention(ledger!, { retentionMs: 0, intervalMs: 3_600_000 });
    const started = performance.now();
    const result = await retention.compact(Date.now() + 1);
    const compaction = performance.now() - started;
    return [
      count.toLocaleString('en'),
      `${(indexing / 1000).toFixed(1)} s`,
      `${search.toFixed(2)} ms`,
      `${scan.toFixed(2)} ms`,
      `${load.toFixed(0)} ms`,
      `~${Math.round(heapPerMark)} B`,
      `${(compaction / 1000).toFixed(1)} s (${result.purgesDeleted.toLocaleString('en')} purges, ${result.marksDeleted.toLocaleString('en')} marks)`,
    ];
  } finally {
    db.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: string[][] = [];
for (const size of SIZES) {
  rows.push(await measure(size));
  process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
}
const header = ['Purges kept', 'Indexing them all (background)', 'Search "URL contains" (trigram index)', 'Same search by table scan (before)', 'Load marks at start', 'Heap per mark', 'Compaction of all of them'];
process.stdout.write(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`);
