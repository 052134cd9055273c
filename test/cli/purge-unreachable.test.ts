import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';

describe('pictor purge against an address where no Pictor listens', () => {
  it('--api: names the address it tried and how to give another, exits 1 without a stack trace', async () => {
    const api = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['purge', '--api', api, '--key', 'ak_x', 'http://localhost:3000/sunset.jpg']);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`cannot reach the Pictor API at ${api} (the connection was refused`), result.stderr);
    assert.ok(result.stderr.includes('with --api <url> or PICTOR_API_URL'), result.stderr);
    assert.doesNotMatch(result.stderr, /fetch failed|^\s+at /m);
    assert.equal(result.stdout, '');
  });

  it('PICTOR_API_URL: the same, for the address the environment gave', async () => {
    const api = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['purge', '--key', 'ak_x', 'http://localhost:3000/sunset.jpg'], { env: { PICTOR_API_URL: api } });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`cannot reach the Pictor API at ${api}`), result.stderr);
  });
});
