import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DashboardClient } from '../dashboard/http-client.ts';
import { FULL_STORE, startFullDiskPictor, untilRefused, type CliAnswer, type FullDiskPictor, type Outcome } from '../helpers/full-disk.ts';
import { smallFsUnavailable } from '../helpers/small-fs.ts';

const unavailable = await smallFsUnavailable();

/** Free bytes left on the filled disk: room for a write or two before it is full. */
const ROOM = 16 * 1024;
/** Runs of one command, at most, until the full disk is met. */
const LIMIT = 6;

/**
 * CLI writes beside a running server whose data directory is on a full disk: each either exits 0 having
 * written (and then the write is there after the server restarts), or exits non-zero saying the store cannot
 * write, and prints no success.
 */
// The bound only turns a hang into a failure: each case restarts the server and runs the CLI a dozen times.
describe('CLI writes on a full disk (a real SQLite on a small file system, beside a running server)', { skip: unavailable, timeout: 900_000 }, () => {
  let pictor: FullDiskPictor;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    pictor = await startFullDiskPictor({ after: (fn) => cleanups.unshift(fn) });
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  const cli = (...args: string[]) => pictor.cli([...args, '--data', pictor.dataDir]);

  /** Fills the disk (but for ROOM), runs the command until it is refused, frees the disk and restarts the server. */
  async function onFullDisk(what: string, success: RegExp, run: (i: number) => Promise<CliAnswer>) {
    await pictor.small.fill(ROOM);
    try {
      return await untilRefused(what, async (i) => cliOutcome(await run(i), success, what), LIMIT);
    } finally {
      await pictor.small.free();
      await pictor.restart();
    }
  }

  const keys = async () => {
    const listed = await cli('keys', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    return JSON.parse(listed.stdout) as { id: string; name: string; revokedAt?: string }[];
  };

  it('pictor keys create and keys revoke exit non-zero saying the store is full, or succeed and are kept', async () => {
    const made = await onFullDisk('keys create', /^Created API key/, (i) => cli('keys', 'create', '--name', `cli-${i}`, '--permissions', 'purge'));
    let listed = await keys();
    for (const i of made.acknowledged) assert.ok(listed.some((key) => key.name === `cli-${i}`), `the key cli-${i} is kept`);
    assert.ok(!listed.some((key) => key.name === `cli-${made.refused}`), 'the refused key is not there');

    const revocable: string[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const extra = await cli('keys', 'create', '--name', `revocable-${i}`, '--permissions', 'purge');
      revocable.push(/^Created API key ([0-9a-f]+)/.exec(extra.stdout)![1]!);
    }
    const revoked = await onFullDisk('keys revoke', /^Revoked API key/, (i) => cli('keys', 'revoke', revocable[i]!));
    listed = await keys();
    const state = (id: string) => listed.find((key) => key.id === id)!.revokedAt;
    for (const i of revoked.acknowledged) assert.ok(state(revocable[i]!), `the revocation of ${revocable[i]} is kept`);
    assert.equal(state(revocable[revoked.refused]!), undefined, 'the key whose revocation was refused is still active');
  });

  it('pictor sources add and sources update exit non-zero saying the store is full, or succeed and are kept', async () => {
    const names = async () => (await pictor.api('GET', '/api/v1/sources')).body.data.map((source: { attributes: { name: string } }) => source.attributes.name) as string[];
    const added = await onFullDisk('sources add', /"name": "cli-/, (i) => cli('sources', 'add', '--name', `cli-${i}`, '--type', 'webfolder', '--base-url', 'https://images.example.com/'));
    for (const i of added.acknowledged) assert.ok((await names()).includes(`cli-${i}`), `the Source cli-${i} is kept`);
    assert.ok(!(await names()).includes(`cli-${added.refused}`), 'the refused Source is not there');

    const id = pictor.defaultSourceId;
    const renamed = await onFullDisk('sources update', /"name": "renamed-/, (i) => cli('sources', 'update', id, '--name', `renamed-${i}`));
    const last = renamed.acknowledged.at(-1);
    assert.equal((await pictor.api('GET', `/api/v1/sources/${id}`)).body.data.attributes.name, last === undefined ? 'default' : `renamed-${last}`);
  });

  it('pictor edges add and edges remove exit non-zero saying the store is full, or succeed and are kept', async () => {
    const names = async () => (await pictor.api('GET', '/api/v1/edges')).body.data.map((edge: { id: string }) => edge.id) as string[];
    const added = await onFullDisk('edges add', /^Added edge/, (i) => cli('edges', 'add', '--name', `cli-${i}`, '--url', `http://127.0.0.1:${4000 + i}`));
    for (const i of added.acknowledged) assert.ok((await names()).includes(`cli-${i}`), `the edge cli-${i} is kept`);
    assert.ok(!(await names()).includes(`cli-${added.refused}`), 'the refused edge is not there');

    for (let i = 0; i < LIMIT; i++) assert.equal((await cli('edges', 'add', '--name', `gone-${i}`, '--url', `http://127.0.0.1:${5000 + i}`)).code, 0);
    const removed = await onFullDisk('edges remove', /^Removed edge/, (i) => cli('edges', 'remove', `gone-${i}`));
    const left = await names();
    for (const i of removed.acknowledged) assert.ok(!left.includes(`gone-${i}`), `the removal of gone-${i} is kept`);
    assert.ok(left.includes(`gone-${removed.refused}`), 'the edge whose removal was refused is still there');
  });

  it('pictor admin set-password exits non-zero saying the store is full, or succeeds and the new password is the one kept', async () => {
    const password = (i: number) => `new password number ${i}`;
    const changed = await onFullDisk('admin set-password', /password of "admin" is changed/, (i) => pictor.cli(['admin', 'set-password', '--data', pictor.dataDir], `${password(i)}\n`));
    const last = changed.acknowledged.at(-1);
    const signIn = async (attempt: string) => (await new DashboardClient(pictor.server.adminUrl).signIn('admin', attempt)).status;
    assert.equal(await signIn(last === undefined ? pictor.adminPassword : password(last)), 303, 'the last password acknowledged is the one kept');
    assert.equal(await signIn(password(changed.refused)), 401, 'the refused password was not set');
  });
});

/** A CLI run as an outcome: exit 0 with its success line, or a non-zero exit naming the full store and printing no success. */
function cliOutcome(answer: CliAnswer, success: RegExp, what: string): Outcome {
  if (answer.code === 0) {
    assert.match(answer.stdout, success, `${what}: exit 0 without its result`);
    return { ok: true, text: '' };
  }
  assert.equal(answer.code, 1, `${what}: exit ${answer.code}: ${answer.stderr}`);
  assert.doesNotMatch(answer.stdout, success, `${what}: a refused command printed success`);
  assert.match(answer.stderr, FULL_STORE, `${what}: ${answer.stderr}`);
  return { ok: false, text: answer.stderr };
}
