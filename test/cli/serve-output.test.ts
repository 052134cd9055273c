import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/pictor.ts';
import { spawnServer } from '../helpers/process.ts';

interface LogLine {
  msg: string;
  listener?: string;
  address?: string;
  signal?: string;
}

describe('pictor serve: what an operator reads from start to stop', () => {
  let root: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-serve-output-'));
    await fs.mkdir(path.join(root, 'assets'));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it('the banner on stderr, only JSON log lines on stdout (one "listening" line per listener), "stopped" after "stopping"', async () => {
    const server = await spawnServer(['--data', path.join(root, 'data'), '--assets', path.join(root, 'assets')], { PICTOR_LOG_LEVEL: 'info' });
    await eventually(() => /Dashboard password: \S+/.test(server.stderr()) && server.stdout().includes('Pictor is ready'), 30_000);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
    const stdout = server.stdout();
    const stderr = server.stderr();

    const renderUrl = /Render URL:\s+(\S+?)\/?\n/.exec(stderr)?.[1];
    const adminUrl = /Admin URL:\s+(\S+?)\/?\n/.exec(stderr)?.[1];
    assert.ok(renderUrl && adminUrl, stderr);
    assert.match(stderr, /API key:\s+ak_[0-9a-f]{64}/);

    const logs = stdout
      .trimEnd()
      .split('\n')
      .map((line) => {
        assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line on stdout: ${line}`);
        return JSON.parse(line) as LogLine;
      });
    const listening = logs.filter((line) => /listening/.test(line.msg));
    assert.deepEqual(
      listening.map((line) => [line.listener, line.address]),
      [
        ['render', new URL(renderUrl).host],
        ['admin', new URL(adminUrl).host],
      ],
      'one line per listener, with the address it is bound to',
    );

    const messages = logs.map((line) => line.msg);
    const stopping = messages.findIndex((msg) => msg.startsWith('stopping'));
    assert.ok(stopping >= 0, 'stopping is logged');
    assert.equal(messages.at(-1), 'stopped', 'the last line says the stop is over');
    assert.ok(stopping < messages.length - 1);
  });
});
