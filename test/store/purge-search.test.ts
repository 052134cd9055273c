import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PurgeRecord } from '../../src/purge/model.ts';
import { openDatabase, type Db } from '../../src/store/sqlite/db.ts';
import { PurgeStore } from '../../src/store/sqlite/purge-store.ts';

function record(n: number, url: string): PurgeRecord {
  return {
    id: `p${n}`, url, sourceId: 'a'.repeat(24), path: new URL(url).pathname, match: 'exact', subImage: false, parentSourceId: undefined,
    status: 'completed', origin: undefined, matched: undefined, generation: n, error: undefined, requestedBy: undefined, createdAt: n, completedAt: n,
  };
}

describe('the Purges search index, kept up in the background', () => {
  let dir: string;
  let db: Db;
  let store: PurgeStore;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-purge-search-'));
    db = openDatabase(dir);
    store = new PurgeStore(db);
  });
  after(async () => {
    db.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const add = (n: number, url: string) => {
    const purge = record(n, url);
    store.insert(purge);
    store.finish(purge, []);
  };
  const ids = (text: string) => store.list({ urlContains: text, limit: 50, offset: 0 }).records.map((r) => r.id);
  const integrity = () => db.exec("INSERT INTO purges_url (purges_url) VALUES ('integrity-check')");

  it('finds purges before and after they are indexed, case-insensitively, % and _ literally', () => {
    const urls = ['https://img.example/Dogs/Rex.JPG', 'https://img.example/cats/tom_1.png', 'https://img.example/cats/100%25.png', 'https://other.example/dogs/fido.jpg'];
    urls.forEach((url, i) => add(i + 1, url));
    const queries: [string, string[]][] = [['dogs/', ['p4', 'p1']], ['TOM_', ['p2']], ['%25', ['p3']], ['rex.jpg', ['p1']], ['img.example/cats', ['p3', 'p2']], ['nothing', []]];
    for (const [text, expected] of queries) assert.deepEqual(ids(text), expected, `unindexed: ${text}`);
    assert.equal(store.indexForSearch(1000), 4);
    assert.equal(store.indexForSearch(1000), 0, 'caught up');
    for (const [text, expected] of queries) assert.deepEqual(ids(text), expected, `indexed: ${text}`);
    add(5, 'https://img.example/dogs/new.jpg');
    assert.deepEqual(ids('dogs/'), ['p5', 'p4', 'p1'], 'the newest, not indexed yet, and the indexed ones together');
    integrity();
  });

  it('stays consistent when purges are deleted, indexed or not', () => {
    add(6, 'https://img.example/dogs/never-indexed.jpg');
    assert.equal(store.deleteEndedBefore(100, 1000), 6, 'all six deleted, five indexed and one not');
    integrity();
    assert.deepEqual(ids('dogs/'), []);
    add(200, 'https://img.example/dogs/after.jpg');
    assert.equal(store.indexForSearch(1000), 1);
    assert.deepEqual(ids('dogs/'), ['p200']);
    integrity();
  });
});
