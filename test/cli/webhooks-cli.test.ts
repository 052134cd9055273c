import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, runCli } from '../helpers/cli.ts';

describe('pictor webhooks', () => {
  let dataDir = '';
  after(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('adds a webhook showing its generated secret once, lists it without the secret, refuses bad events, removes it', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-webhooks-cli-'));
    const data = ['--data', dataDir];
    const added = await cli(['webhooks', 'add', '--url', 'http://127.0.0.1:9/hooks', '--events', 'purge.completed,takedown.created', '--outbound-allow', '127.0.0.1/32', ...data]);
    const id = /Added webhook (wh_[0-9a-f]{32}) for purge\.completed, takedown\.created at http:\/\/127\.0\.0\.1:9\/hooks\./.exec(added.stdout)?.[1];
    assert.ok(id, added.stdout);
    assert.match(added.stdout, /Secret \(shown once; verify signatures with it\): whsec_\S{44}\n/);

    const listed = JSON.parse((await cli(['webhooks', 'list', '--json', ...data])).stdout) as { id: string; events: string[] }[];
    assert.deepEqual(listed.map((each) => [each.id, each.events]), [[id, ['purge.completed', 'takedown.created']]]);
    assert.doesNotMatch((await cli(['webhooks', 'list', ...data])).stdout, /whsec_/);

    const refused = await runCli(['webhooks', 'add', '--url', 'https://hooks.example.com/', '--events', 'purge.done', ...data]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unknown event types \("purge\.done"\).*\(--events\)/);
    const plain = await runCli(['webhooks', 'add', '--url', 'http://127.0.0.1:9/hooks', '--events', 'purge.completed', ...data]);
    assert.match(plain.stderr, /must be https:\/\/.*\(--url\)/);

    assert.match((await cli(['webhooks', 'remove', id!, ...data])).stdout, new RegExp(`Removed webhook ${id}\\.`));
    assert.match((await runCli(['webhooks', 'remove', id!, ...data])).stderr, /There is no webhook/);
  });
});
