import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LOCKS } from '../../src/store/postgres/database.ts';
import { newSecretKey } from '../../src/store/secret-box.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';

/**
 * Servers started at the same moment on one new store, each with a key of its own: the first to record its
 * key serves, and every other is refused at that start (not at its next one), with a message naming the key.
 */
describe('servers started at once on one new store with different secret keys', { timeout: 120_000 }, () => {
  let root: string;
  let assets: string;
  const running: ServerProcess[] = [];
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-key-race-'));
    assets = path.join(root, 'assets');
    await fs.mkdir(assets);
  });
  after(async () => {
    for (const server of running) {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      await server.exited;
    }
    await fs.rm(root, { recursive: true, force: true });
  });

  /** Starts every server at once; answers the ones that serve and the refusals of the others. */
  async function startTogether(starts: (() => Promise<ServerProcess>)[]): Promise<{ served: ServerProcess[]; refused: string[] }> {
    const outcomes = await Promise.allSettled(starts.map((start) => start()));
    const served = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    running.push(...served);
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error).message)] : []));
    return { served, refused };
  }

  async function assertServes(server: ServerProcess): Promise<void> {
    const health = await fetch(`${server.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(server.child.exitCode, null);
  }

  describe('a cluster on PostgreSQL', () => {
    let postgres: TestPostgres;
    before(async () => {
      postgres = await startPostgres();
    });
    after(() => postgres?.stop());

    it('three nodes, each with its own key file: exactly one serves, the other two exit 2 saying every node needs the same key', async () => {
      const databaseUrl = await postgres.createDatabase('pictor');
      const node = (i: number) => () =>
        spawnServer(['--database', databaseUrl, '--node-id', `node-${i}`, '--data', path.join(root, `node-${i}`), '--assets', assets]);
      // Lines the three starts up: the Source writers' lock is held until every node waits for it, so that all
      // three have read "no key recorded yet" before any of them records its key.
      const holder = new pg.Client({ connectionString: databaseUrl });
      await holder.connect();
      let starting: Promise<{ served: ServerProcess[]; refused: string[] }>;
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [LOCKS.sources]);
        starting = startTogether([node(1), node(2), node(3)]);
        for (let waiting = 0, tries = 0; waiting < 3; tries++) {
          assert.ok(tries < 1200, `${waiting} of the three nodes reached the lock`);
          await new Promise((resolve) => setTimeout(resolve, 50));
          const waiters = "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted";
          const { rows } = await holder.query<{ n: string }>(waiters, [LOCKS.sources]);
          waiting = Number(rows[0]!.n);
        }
        await holder.query('SELECT pg_advisory_unlock($1)', [LOCKS.sources]);
      } finally {
        await holder.end();
      }
      const { served, refused } = await starting;

      assert.equal(served.length, 1, `one node serves; refusals: ${refused.join('\n---\n')}`);
      assert.equal(refused.length, 2);
      for (const message of refused) {
        assert.match(message, /exited early \(2\)/);
        assert.match(message, /pictor: cannot start: The shared database's Source secrets are encrypted with the key [0-9a-f]+ \(recorded by the node that started first\), which \S+secret\.key does not hold\. Every node needs the same key/);
        assert.doesNotMatch(message, /\n\s+at /, 'no stack trace');
      }
      await assertServes(served[0]!);
    });
  });

  it('two servers on one SQLite data directory with different PICTOR_SECRET_KEY: exactly one serves, the other exits 2 naming the key', async () => {
    const dataDir = path.join(root, 'shared-data');
    const server = (key: Buffer) => () => spawnServer(['--data', dataDir, '--assets', assets], { PICTOR_SECRET_KEY: key.toString('base64') });
    const { served, refused } = await startTogether([server(newSecretKey()), server(newSecretKey())]);

    assert.equal(served.length, 1, `one server serves; refusals: ${refused.join('\n---\n')}`);
    assert.equal(refused.length, 1);
    assert.match(refused[0]!, /exited early \(2\)/);
    assert.match(refused[0]!, /pictor: cannot start: This data directory's Source secrets are encrypted with the key [0-9a-f]+ .*which PICTOR_SECRET_KEY does not hold/);
    await assertServes(served[0]!);
  });
});
