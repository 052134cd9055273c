import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import S3rver from 's3rver';
import { Pictor } from '../../src/app.ts';
import { resolveOptions } from '../../src/config/options.ts';
import type { SourceRecord } from '../../src/store/source-record.ts';
import { openDatabase } from '../../src/store/sqlite/db.ts';
import { keyId, newSecretKey, SecretKeyError } from '../../src/store/secret-box.ts';
import { readKeyFile } from '../../src/store/secret-keys.ts';
import { cli as pictorCli, runCli } from '../helpers/cli.ts';
import { rawGet, solidImage } from '../helpers/pictor.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => pictorCli(args, { env: { PICTOR_SECRET_KEY: '', ...env } });

// s3rver's only account: access key S3RVER, secret S3RVER.
const KEY = 'S3RVER';

/** Every byte Pictor keeps in the data directory (database, its write-ahead log, caches). */
function dataDirBytes(dir: string): Buffer {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Buffer.concat(files.map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name))));
}

/** The key ids of the sealed values stored, read straight from SQLite. */
function storedValues(dir: string): { secret: string; token: string | null }[] {
  const db = new Database(path.join(dir, 'pictor.db'), { readonly: true });
  try {
    const rows = db.prepare("SELECT deployment, secure_url_token FROM sources WHERE type = 's3'").all() as { deployment: string; secure_url_token: string | null }[];
    return rows.map((row) => ({ secret: (JSON.parse(row.deployment) as { s3_secret_key: string }).s3_secret_key, token: row.secure_url_token }));
  } finally {
    db.close();
  }
}

interface Running {
  pictor: Pictor;
  renderPort: number;
  adminUrl: string;
  apiKey: string | undefined;
  /** The Source records Origins were built from, latest last (as the server decrypted them). */
  records: SourceRecord[];
}

async function start(dataDir: string, assetsDir: string, options: Record<string, string> = {}): Promise<Running> {
  const records: SourceRecord[] = [];
  const pictor = new Pictor(
    resolveOptions({ host: '127.0.0.1', port: '0', adminPort: '0', dataDir, assetsDir, logLevel: 'silent', outboundAllow: '127.0.0.1/32', ...options }, {}),
    { originInterceptor: (origin, record) => (records.push(record), origin) },
  );
  const started = await pictor.start();
  return { pictor, renderPort: Number(new URL(started.renderUrl).port), adminUrl: started.adminUrl, apiKey: started.firstApiKey, records };
}

describe('Source secrets at rest', () => {
  let root: string;
  let assetsDir: string;
  let s3: S3rver;
  let endpoint: string;
  let apiKey: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-secrets-'));
    assetsDir = path.join(root, 'assets');
    fs.mkdirSync(assetsDir);
    s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: path.join(root, 's3'), silent: true, configureBuckets: [{ name: 'media' }] });
    endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
    const bucket = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
    await bucket.send(new PutObjectCommand({ Bucket: 'media', Key: 'photo.png', Body: await solidImage(40, 20, [0, 200, 0], 'png'), ContentType: 'image/png' }));
    bucket.destroy();
  });
  after(async () => {
    await s3?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const createS3Source = async (running: Running, secret: string, domain: string): Promise<{ id: string; token: string }> => {
    const response = await fetch(`${running.adminUrl}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({
        data: { type: 'sources', attributes: { name: domain, deployment: { type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: secret, endpoint, custom_domains: [domain], secure_url_enabled: true } } },
      }),
    });
    const body = (await response.json()) as any;
    assert.equal(response.status, 201, JSON.stringify(body));
    return { id: body.data.id, token: body.data.attributes.secure_url_token };
  };
  const getSource = async (running: Running, id: string) =>
    ((await (await fetch(`${running.adminUrl}/api/v1/sources/${id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as any).data.attributes;

  it('creates the key file (mode 0600) on the first start; the database file holds no secret in plain text', async () => {
    const dataDir = path.join(root, 'plain');
    const running = await start(dataDir, assetsDir);
    apiKey = running.apiKey!;
    try {
      assert.equal(fs.statSync(path.join(dataDir, 'secret.key')).mode & 0o777, 0o600);
      const { id, token } = await createS3Source(running, 'NEVER-IN-PLAIN-TEXT', 'plain.test');
      assert.match(token, /^[0-9a-f]{32}$/);
      assert.equal((await rawGet(running.renderPort, '/photo.png?w=10', { host: 'plain.test' })).status, 403, 'signed URLs required');
      assert.equal(running.records.find((record) => record.id === id)?.deployment.s3_secret_key, 'NEVER-IN-PLAIN-TEXT', 'the origin gets the plaintext');
      const bytes = dataDirBytes(dataDir);
      assert.ok(bytes.includes('NEVER-IN-PLAIN-TEXT') === false, 'no plaintext secret in any file of the data directory');
      assert.ok(bytes.includes(token) === false, 'no plaintext secure_url_token either');
      assert.ok(bytes.includes(`enc:v1:${keyId(readKeyFile(path.join(dataDir, 'secret.key'))[0]!)}:`), 'sealed values are there');
    } finally {
      await running.pictor.stop();
    }
  });

  it('encrypts a legacy plaintext row at start, and serves it as before', async () => {
    const dataDir = path.join(root, 'legacy');
    openDatabase(dataDir).close();
    const db = new Database(path.join(dataDir, 'pictor.db'));
    const deployment = {
      type: 's3', imgix_subdomains: [], custom_domains: ['legacy.test'], cache_ttl_behavior: 'respect_origin', cache_ttl_value: 3600, cache_ttl_error: 300,
      default_params: {}, image_missing: null, image_missing_append_qs: false, image_error: null, image_error_append_qs: false, secure_url_enabled: true,
      s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: 'LEGACY-PLAIN-SECRET', endpoint,
    };
    db.prepare('INSERT INTO sources (id, name, type, enabled, deployment, secure_url_token, date_deployed, created_at) VALUES (?, ?, ?, 1, ?, ?, 0, 0)').run(
      'a1'.repeat(12), 'legacy', 's3', JSON.stringify(deployment), 'legacyplaintexttoken0123456789ab',
    );
    db.close();
    assert.ok(dataDirBytes(dataDir).includes('LEGACY-PLAIN-SECRET'), 'the fixture is in plain text');

    const running = await start(dataDir, assetsDir);
    try {
      const bytes = dataDirBytes(dataDir);
      assert.equal(bytes.includes('LEGACY-PLAIN-SECRET'), false, 'encrypted at start, and not left behind in free pages or the log');
      assert.equal(bytes.includes('legacyplaintexttoken0123456789ab'), false);
      const [stored] = storedValues(dataDir);
      assert.match(stored!.secret, /^enc:v1:/);
      assert.match(stored!.token!, /^enc:v1:/);
      apiKey = running.apiKey!;
      const attributes = await getSource(running, 'a1'.repeat(12));
      assert.equal(attributes.secure_url_token, 'legacyplaintexttoken0123456789ab', 'decrypts to the same token');
      assert.equal(attributes.deployment.s3_secret_key_set, true);
      assert.equal(running.records.find((record) => record.id === 'a1'.repeat(12))?.deployment.s3_secret_key, 'LEGACY-PLAIN-SECRET');
    } finally {
      await running.pictor.stop();
    }
  });

  it('`pictor secrets rotate` re-encrypts every secret under a new key while a server runs; the S3 Source keeps working', async () => {
    const dataDir = path.join(root, 'rotate');
    let running = await start(dataDir, assetsDir);
    apiKey = running.apiKey!;
    const keyFile = path.join(dataDir, 'secret.key');
    const oldKey = keyId(readKeyFile(keyFile)[0]!);
    const { id } = await createS3Source(running, 'ROTATED-SECRET', 'rotate.test');
    await fetch(`${running.adminUrl}/api/v1/sources/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'sources', attributes: { deployment: { secure_url_enabled: false } } } }),
    });
    try {
      assert.equal((await rawGet(running.renderPort, '/photo.png?w=10', { host: 'rotate.test' })).status, 200);

      const { stdout } = await cli(['secrets', 'rotate', '--data', dataDir]);
      const keys = readKeyFile(keyFile);
      const newKey = keyId(keys[0]!);
      assert.equal(keys.length, 2);
      assert.equal(keyId(keys[1]!), oldKey, 'the old key is kept after the new one');
      assert.match(stdout, new RegExp(`Added the key ${newKey} first in .*secret\\.key, and kept 1 older key after it \\(${oldKey}\\)`));
      assert.match(stdout, /Encrypted 2 secrets of Sources and webhooks with the new key/);
      assert.deepEqual(storedValues(dataDir).map((value) => [value.secret.split(':')[2], value.token?.split(':')[2]]), [[newKey, newKey]]);
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);

      // The running server meets the new key id, reads the key file again, and carries on (a render not cached yet).
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await rawGet(running.renderPort, '/photo.png?w=11', { host: 'rotate.test' })).status, 200);
      assert.equal((await getSource(running, id)).deployment.s3_secret_key_set, true);
      // …and seals what it writes from now on with the new key.
      await fetch(`${running.adminUrl}/api/v1/sources/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'sources', attributes: { deployment: { s3_secret_key: 'ROTATED-SECRET' } } } }),
      });
      assert.equal(storedValues(dataDir)[0]!.secret.split(':')[2], newKey);
      await running.pictor.stop();

      // With the old key dropped from the file, a restart still reads every secret: nothing used it any more.
      fs.writeFileSync(keyFile, `${keys[0]!.toString('base64')}\n`);
      running = await start(dataDir, assetsDir);
      assert.equal(running.records.find((record) => record.id === id)?.deployment.s3_secret_key, 'ROTATED-SECRET');
      assert.equal((await rawGet(running.renderPort, '/photo.png?w=12', { host: 'rotate.test' })).status, 200);
    } finally {
      await running.pictor.stop();
    }
  });

  it('with PICTOR_SECRET_KEY: no key file; a wrong key is a clear startup error; rotation by putting the new key first', async () => {
    const dataDir = path.join(root, 'env');
    const [first, second, wrong] = [newSecretKey(), newSecretKey(), newSecretKey()];
    let running = await start(dataDir, assetsDir, { secretKeys: first.toString('base64') });
    apiKey = running.apiKey!;
    const { id } = await createS3Source(running, 'ENV-SECRET', 'env.test');
    await running.pictor.stop();
    assert.equal(fs.existsSync(path.join(dataDir, 'secret.key')), false);
    assert.equal(storedValues(dataDir)[0]!.secret.split(':')[2], keyId(first));

    await assert.rejects(start(dataDir, assetsDir, { secretKeys: wrong.toString('hex') }), (error) => {
      assert.ok(error instanceof SecretKeyError);
      assert.match(error.message, new RegExp(`s3_secret_key of Source ${id} is encrypted with the key ${keyId(first)}, which is not among the keys of PICTOR_SECRET_KEY`));
      return true;
    });
    await assert.rejects(start(dataDir, assetsDir), /secret\.key is missing, and the secrets \(of Sources, webhooks\) in this data directory are encrypted with the key/);
    assert.equal(fs.existsSync(path.join(dataDir, 'secret.key')), false, 'no useless key file is made');

    // The new key first, the old one after it: the start re-encrypts with the new one; then the old one can go.
    running = await start(dataDir, assetsDir, { secretKeys: `${second.toString('base64')},${first.toString('hex')}` });
    await running.pictor.stop();
    assert.deepEqual(
      storedValues(dataDir).map((value) => [value.secret.split(':')[2], value.token?.split(':')[2]]),
      [[keyId(second), keyId(second)]],
    );
    running = await start(dataDir, assetsDir, { secretKeys: second.toString('base64') });
    try {
      assert.equal(running.records.find((record) => record.id === id)?.deployment.s3_secret_key, 'ENV-SECRET');
      assert.equal((await getSource(running, id)).deployment.s3_secret_key_set, true);
    } finally {
      await running.pictor.stop();
    }

    // A command run without the server's key refuses to write, rather than seal what the server cannot read.
    await assert.rejects(cli(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--data', dataDir]), (error: { stderr: string }) => {
      assert.match(error.stderr, /secret\.key is missing/);
      return true;
    });
    await assert.rejects(cli(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--data', dataDir], { PICTOR_SECRET_KEY: first.toString('base64') }), (error: { stderr: string }) => {
      assert.match(error.stderr, new RegExp(`encrypts Source secrets with the key ${keyId(second)}, which PICTOR_SECRET_KEY does not hold`));
      return true;
    });
    await assert.rejects(cli(['secrets', 'rotate', '--data', dataDir], { PICTOR_SECRET_KEY: second.toString('base64') }), (error: { stderr: string }) => {
      assert.match(error.stderr, /PICTOR_SECRET_KEY is set, so the key file is not used\. Rotate it there: put a new key first/);
      return true;
    });
    const added = await cli(['sources', 'add', '--name', 'x', '--type', 'webproxy', '--data', dataDir], { PICTOR_SECRET_KEY: second.toString('base64') });
    assert.match(added.stdout, /"secure_url_token": "[0-9a-f]{32}"/);
  });

  it('`pictor serve` refuses to start with a key file others may read: a clear message, exit 2, no stack trace', async () => {
    const dataDir = path.join(root, 'open-key-file');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'secret.key'), `${newSecretKey().toString('base64')}\n`, { mode: 0o644 });
    fs.chmodSync(path.join(dataDir, 'secret.key'), 0o644);
    const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data', dataDir, '--assets', assetsDir];
    const { code, stdout, stderr } = await runCli(serve, { env: { PICTOR_LOG_LEVEL: 'silent', PICTOR_SECRET_KEY: '' } });
    const output = stdout + stderr;
    assert.equal(code, 2, output);
    assert.match(output, /^pictor: cannot start: .*secret\.key may be read by other users \(mode 0644\); allow only its owner: chmod 600 /m);
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(output, /Render URL/);
  });
});
