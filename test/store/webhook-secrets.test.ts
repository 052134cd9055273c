import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { keyId, newSecretKey, SecretBox } from '../../src/store/secret-box.ts';
import { readKeyFile } from '../../src/store/secret-keys.ts';
import { webhookSecretContext } from '../../src/store/webhook-store.ts';
import { cli, runCli } from '../helpers/cli.ts';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { requestPurge } from '../helpers/purges.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const directories: string[] = [];
after(() => Promise.all(directories.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-webhook-secrets-'));
  directories.push(dir);
  return dir;
}

const NO_ENV_KEY = { env: { PICTOR_SECRET_KEY: '' } };

async function start(dataDir: string): Promise<TestPictor> {
  return startPictor({ dataDir, assets: { 'a.jpg': await solidImage(10, 10, [0, 0, 255]) }, options: { outboundAllow: '127.0.0.1/32' } });
}

/** Adds a webhook for purge.completed at `url` and answers its id and the secret Pictor generated. */
async function addWebhook(server: TestPictor, url: string): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${server.adminUrl}/api/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/vnd.api+json' },
    body: JSON.stringify({ data: { type: 'webhooks', attributes: { url, events: ['purge.completed'] } } }),
  });
  const body = (await response.json()) as any;
  assert.equal(response.status, 201, JSON.stringify(body));
  return { id: body.data.id, secret: body.data.attributes.secret };
}

/** The stored (sealed) secret of a webhook, read straight from SQLite. */
async function storedSecret(dataDir: string, id: string): Promise<string> {
  const db = new Database(path.join(dataDir, 'pictor.db'), { readonly: true });
  try {
    return (db.prepare('SELECT secret FROM webhooks WHERE id = ?').get(id) as { secret: string }).secret;
  } finally {
    db.close();
  }
}

describe('webhook secrets at rest', { timeout: 120_000 }, () => {
  it('`pictor secrets rotate` re-encrypts webhook secrets: with the old key removed, deliveries are still signed', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const receiver = await startReceiver();
    let server = await start(dataDir);
    try {
      const { apiKey } = server;
      const webhook = await addWebhook(server, receiver.url);
      receiver.secret = webhook.secret;
      const keyFile = path.join(dataDir, 'secret.key');
      const oldKey = keyId(readKeyFile(keyFile)[0]!);

      const { stdout } = await cli(['secrets', 'rotate', '--data', dataDir], NO_ENV_KEY);
      const [newKey] = readKeyFile(keyFile);
      assert.match(stdout, /Encrypted 1 secret of Sources and webhooks with the new key/);
      assert.equal((await storedSecret(dataDir, webhook.id)).split(':')[2], keyId(newKey!), 'sealed with the new key');
      await server.pictor.stop();

      // Only the new key is left: nothing may still need the old one.
      await fs.writeFile(keyFile, `${newKey!.toString('base64')}\n`);
      server = await start(dataDir);
      const purge = await requestPurge({ adminUrl: server.adminUrl, apiKey }, `${server.renderUrl}/a.jpg`);
      const purgeId = purge.body.data!.id;
      await eventually(() => receiver.received.some((message) => message.data.purge_id === purgeId), 15_000);
      assert.deepEqual(receiver.rejected, [], 'signed with the webhook secret, which opened with the new key');
      assert.notEqual(keyId(newKey!), oldKey);
    } finally {
      await server.stop();
      await receiver.stop();
    }
  });

  it('`pictor serve` refuses to start when a webhook secret is sealed with a key it does not hold: exit 2 and the key named', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const server = await start(dataDir);
    const webhook = await addWebhook(server, 'https://hooks.example.com/pictor');
    await server.pictor.stop();
    // The Sources' secrets and the recorded key are all this server's; only the webhook's is another key's.
    const otherKey = newSecretKey();
    const sealed = new SecretBox({ keys: [otherKey], origin: 'test' }).seal(webhook.secret, webhookSecretContext(webhook.id));
    const db = new Database(path.join(dataDir, 'pictor.db'));
    db.prepare('UPDATE webhooks SET secret = ? WHERE id = ?').run(sealed, webhook.id);
    db.close();

    const assets = path.join(root, 'assets');
    await fs.mkdir(assets);
    const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data', dataDir, '--assets', assets];
    const { code, stdout, stderr } = await runCli(serve, { env: { PICTOR_LOG_LEVEL: 'silent', PICTOR_SECRET_KEY: '' }, timeoutMs: 30_000 });
    const output = stdout + stderr;
    assert.equal(code, 2, output);
    assert.match(
      output,
      new RegExp(`^pictor: cannot start: The secret secret of webhook ${webhook.id} is encrypted with the key ${keyId(otherKey)}, which is not among the keys of .*secret\\.key`, 'm'),
    );
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(output, /Render URL/);
  });
});
