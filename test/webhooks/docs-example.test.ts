import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { signature } from '../../src/webhooks/signing.ts';

type Verify = (secret: string, headers: Record<string, string>, rawBody: string) => boolean;

/** The Node.js block of docs/webhooks.md, written to a module of its own and imported as a reader would. */
async function docsVerifier(): Promise<Verify> {
  const markdown = await fs.readFile(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
  const code = /## Verifying a message in Node\.js[\s\S]*?```js\n([\s\S]*?)```/.exec(markdown)?.[1];
  assert.ok(code, 'docs/webhooks.md has its Node.js example');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-docs-webhooks-'));
  try {
    const file = path.join(dir, 'verify.mjs');
    await fs.writeFile(file, code);
    return ((await import(pathToFileURL(file).href)) as { verifyWebhook: Verify }).verifyWebhook;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('docs/webhooks.md', () => {
  it("verifies a message Pictor signs with the documented code, and refuses a changed body, another secret or an old timestamp", async () => {
    const verifyWebhook = await docsVerifier();
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const body = JSON.stringify({ type: 'purge.completed', timestamp: new Date().toISOString(), data: { purge_id: 'p' } });
    const id = 'msg_0123';
    const now = Math.floor(Date.now() / 1000);
    const headers = (timestamp: number, signed = body, key = secret) => ({
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,AAAA ${signature(key, id, timestamp, signed)}`,
    });
    assert.equal(verifyWebhook(secret, headers(now), body), true);
    assert.equal(verifyWebhook(secret, headers(now), `${body} `), false);
    assert.equal(verifyWebhook(secret, headers(now, body, `whsec_${Buffer.alloc(32, 8).toString('base64')}`), body), false);
    assert.equal(verifyWebhook(secret, headers(now - 600), body), false);
  });
});
