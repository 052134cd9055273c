import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { isPictorError } from '../../src/errors.ts';
import { DEFAULT_DEPLOYMENT, type Deployment, type SourceRecord } from '../../src/store/source-record.ts';
import { createOrigin } from '../../src/sources/origin-factory.ts';
import type { Origin } from '../../src/sources/origin.ts';
import { S3Origin } from '../../src/sources/s3-origin.ts';
import { startOrigin } from '../helpers/origin-server.ts';

// s3rver's only account: access key S3RVER, secret S3RVER.
const KEY = 'S3RVER';

function source(deployment: Partial<Deployment> & Pick<Deployment, 'type'>): SourceRecord {
  return { id: randomBytes(12).toString('hex'), name: 't', enabled: true, secureUrlToken: undefined, dateDeployed: 0, deployment: { ...DEFAULT_DEPLOYMENT, ...deployment } };
}

describe('s3, s3_compatible and gcs origins against a real s3rver', () => {
  let server: S3rver;
  let directory: string;
  let endpoint: string;
  let admin: S3Client;
  const origins: Origin[] = [];
  const photo = randomBytes(64 * 1024);
  // s3rver listens on 127.0.0.1: admitted explicitly, as an operator would admit a store on the local network.
  const deps = { maxInputBytes: 1_000_000, outboundAllow: ['127.0.0.1/32'], timeoutSeconds: 5, folderRoots: [] };
  const make = (deployment: Partial<Deployment> & Pick<Deployment, 'type'>, extra: Partial<typeof deps> = {}): Origin => {
    const origin = createOrigin(source(deployment), { ...deps, ...extra });
    origins.push(origin);
    return origin;
  };

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-s3rver-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
    const address = await server.run();
    endpoint = `http://127.0.0.1:${address.port}`;
    admin = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: KEY, secretAccessKey: KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await admin.send(new CreateBucketCommand({ Bucket: 'media' }));
    const put = (Key: string, Body: Buffer | string, ContentType?: string, CacheControl?: string) =>
      admin.send(new PutObjectCommand({ Bucket: 'media', Key, Body, ContentType, CacheControl }));
    await put('photo.jpg', photo, 'image/jpeg', 'max-age=3600');
    await put('site/a b+c.png', Buffer.from('prefixed'), 'image/png');
    await put('site/dir/ünï.webp', Buffer.from('unicode'));
    await put('big.bin', Buffer.alloc(4096), 'application/octet-stream');
  });
  after(async () => {
    for (const origin of origins) (origin as S3Origin).close?.();
    admin?.destroy();
    await server?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  it('s3: found, with identical bytes, content type, validators and Cache-Control', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    const result = await origin.fetch('/photo.jpg');
    assert.equal(result.kind, 'found');
    if (result.kind !== 'found') return;
    assert.ok(result.body.equals(photo), 'bytes identical');
    assert.equal(result.contentType, 'image/jpeg');
    assert.equal(result.cacheControl, 'max-age=3600');
    assert.match(result.validators.etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.ok(result.validators.lastModified && !Number.isNaN(Date.parse(result.validators.lastModified)));
  });

  it('s3: the prefix, and keys are the decoded path (spaces, plus signs, Unicode)', async () => {
    for (const prefix of ['site', 'site/', '/site/']) {
      const origin = make({ type: 's3', s3_bucket: 'media', s3_prefix: prefix, s3_access_key: KEY, s3_secret_key: KEY, endpoint });
      const result = await origin.fetch('/a%20b%2Bc.png');
      assert.equal(result.kind === 'found' && result.body.toString(), 'prefixed', prefix);
    }
    const origin = make({ type: 's3', s3_bucket: 'media', s3_prefix: 'site', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    const unicode = await origin.fetch('/dir/%C3%BCn%C3%AF.webp');
    assert.equal(unicode.kind === 'found' && unicode.body.toString(), 'unicode');
    assert.equal(unicode.kind === 'found' && unicode.contentType, 'image/webp', 'by extension when the store has no specific type');
    assert.deepEqual(await origin.fetch('/photo.jpg'), { kind: 'missing' }, 'outside the prefix');
  });

  it('s3: missing', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    assert.deepEqual(await origin.fetch('/nope.jpg'), { kind: 'missing' });
    assert.deepEqual(await origin.fetch('/'), { kind: 'missing' });
  });

  it('s3: not-modified with the ETag, found with another', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    const first = await origin.fetch('/photo.jpg');
    assert.equal(first.kind, 'found');
    const etag = first.kind === 'found' ? first.validators.etag : undefined;
    const again = await origin.fetch('/photo.jpg', { etag });
    assert.equal(again.kind, 'not-modified');
    assert.equal(again.kind === 'not-modified' && again.validators.etag, etag);
    assert.equal((await origin.fetch('/photo.jpg', { etag: '"0123"' })).kind, 'found');
  });

  it('names the object it served by endpoint, bucket and key, whichever type of Source and prefix lead to it', async () => {
    const host = new URL(endpoint).host;
    const s3 = make({ type: 's3', s3_bucket: 'media', s3_prefix: 'site', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    const compatible = make({ type: 's3_compatible', bucket_name: 'media', access_key: KEY, secret_key: KEY, endpoint });
    const found = await s3.fetch('/a%20b%2Bc.png');
    assert.equal(found.kind === 'found' && found.object, `s3:${host}/media/site/a b+c.png`);
    const same = await compatible.fetch('/site/a%20b%2Bc.png');
    assert.equal(same.kind === 'found' && same.object, `s3:${host}/media/site/a b+c.png`, 'another Source on the same object');
    const etag = found.kind === 'found' ? found.validators.etag : undefined;
    const notModified = await s3.fetch('/a%20b%2Bc.png', { etag });
    assert.equal(notModified.kind === 'not-modified' && notModified.object, `s3:${host}/media/site/a b+c.png`);
    assert.equal(await s3.objectFor!('/not%20yet.png'), `s3:${host}/media/site/not yet.png`, 'named without reading it');
    const aws = make({ type: 's3', s3_bucket: 'media', region: 'eu-west-1' });
    assert.equal(await aws.objectFor!('/x.jpg'), 's3:aws/media/x.jpg', 'AWS bucket names are global');
  });

  it('s3: the byte limit (413)', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint }, { maxInputBytes: 1000 });
    await assert.rejects(origin.fetch('/big.bin'), (error) => isPictorError(error) && error.code === 'INPUT_TOO_LARGE' && error.status === 413);
  });

  it('s3_compatible: bucket_name, prefix, access_key/secret_key and the endpoint', async () => {
    const origin = make({ type: 's3_compatible', bucket_name: 'media', prefix: 'site', access_key: KEY, secret_key: KEY, region: 'auto', storage_provider: 'minio', endpoint });
    const result = await origin.fetch('/a%20b%2Bc.png');
    assert.equal(result.kind === 'found' && result.body.toString(), 'prefixed');
    assert.deepEqual(await origin.fetch('/nope.png'), { kind: 'missing' });
  });

  it('gcs: gcs_bucket, gcs_prefix, HMAC keys, with the endpoint overridden', async () => {
    const origin = make({ type: 'gcs', gcs_bucket: 'media', gcs_prefix: 'site', gcs_access_key: KEY, gcs_secret_key: KEY, endpoint });
    const result = await origin.fetch('/a%20b%2Bc.png');
    assert.equal(result.kind === 'found' && result.body.toString(), 'prefixed');
    const first = await origin.fetch('/dir/%C3%BCn%C3%AF.webp');
    const etag = first.kind === 'found' ? first.validators.etag : undefined;
    assert.equal((await origin.fetch('/dir/%C3%BCn%C3%AF.webp', { etag })).kind, 'not-modified');
  });

  it('an unknown bucket is an origin failure (502), not a missing asset', async () => {
    const origin = make({ type: 's3', s3_bucket: 'nope', s3_access_key: KEY, s3_secret_key: KEY, endpoint });
    await assert.rejects(origin.fetch('/photo.jpg'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /no bucket "nope"/.test(error.message));
  });

  // s3rver knows one access key (S3RVER) and does not verify SigV4 signatures: an unknown access key is
  // refused (InvalidAccessKeyId, 403), a wrong secret with the right key is accepted.
  it('wrong credentials: an unknown access key is a 502 naming the error', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: 'WRONG', s3_secret_key: 'WRONG', endpoint });
    await assert.rejects(origin.fetch('/photo.jpg'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /credentials \(InvalidAccessKeyId\)/.test(error.message));
  });

  it('wrong credentials: a wrong secret is accepted by s3rver (it does not check SigV4 signatures)', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: 'WRONG', endpoint });
    assert.equal((await origin.fetch('/photo.jpg')).kind, 'found');
  });

  it('no credentials: unsigned requests, which s3rver serves (it enforces no ACLs)', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', endpoint });
    const result = await origin.fetch('/photo.jpg');
    assert.equal(result.kind, 'found');
  });

  it('an unreachable endpoint is a 502 after the SDK retries, within the timeout', async () => {
    const origin = make({ type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint: 'http://127.0.0.1:9' });
    await assert.rejects(origin.fetch('/photo.jpg'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /ECONNREFUSED/.test(error.message));
  });
});

describe('s3 origin against a misbehaving S3 endpoint', () => {
  it('retries a 503 (the SDK, maxAttempts 3), gives up after 3 attempts, caps a body without a length, times out', async () => {
    let calls = 0;
    const fake = await startOrigin((req, res) => {
      const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (key === '/bucket/flaky.png' && ++calls === 1) {
        res.writeHead(503, { 'content-type': 'application/xml' }).end('<Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>');
      } else if (key === '/bucket/flaky.png') {
        res.writeHead(200, { 'content-type': 'image/png', etag: '"e1"' }).end('ok');
      } else if (key === '/bucket/down.png') {
        res.writeHead(500, { 'content-type': 'application/xml' }).end('<Error><Code>InternalError</Code><Message>down</Message></Error>');
      } else if (key === '/bucket/endless.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(Buffer.alloc(1000))), 1);
      } else if (key === '/bucket/hang.png') {
        // never answers
      } else {
        res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      }
    });
    const make = (timeoutSeconds: number) =>
      createOrigin(source({ type: 's3_compatible', bucket_name: 'bucket', access_key: 'k', secret_key: 's', endpoint: fake.url }), {
        maxInputBytes: 10_000,
        outboundAllow: ['127.0.0.1/32'],
        timeoutSeconds,
        folderRoots: [],
      }) as S3Origin;
    const origin = make(3);
    const impatient = make(0.5);
    try {
      const flaky = await origin.fetch('/flaky.png');
      assert.equal(flaky.kind === 'found' && flaky.body.toString(), 'ok');
      assert.equal(calls, 2);
      const before = fake.requests.length;
      await assert.rejects(origin.fetch('/down.png'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /InternalError, HTTP 500/.test(error.message));
      assert.equal(fake.requests.length - before, 3);
      await assert.rejects(origin.fetch('/endless.png'), (error) => isPictorError(error) && error.code === 'INPUT_TOO_LARGE');
      await assert.rejects(impatient.fetch('/hang.png'), (error) => isPictorError(error) && error.code === 'ORIGIN_UNAVAILABLE' && /within 0\.5 s/.test(error.message));
      assert.deepEqual(await origin.fetch('/absent.png'), { kind: 'missing' });
    } finally {
      origin.close();
      impatient.close();
      await fake.close();
    }
  });
});

describe('s3, s3_compatible and gcs endpoints go through the outbound guard', () => {
  let server: S3rver;
  let directory: string;
  let port: number;
  /** Counts every TCP connection s3rver accepts: a refused fetch must not even connect. */
  let connections = 0;
  const origins: S3Origin[] = [];
  const make = (deployment: Partial<Deployment> & Pick<Deployment, 'type'>, outboundAllow: string[]): S3Origin => {
    const origin = createOrigin(source(deployment), { maxInputBytes: 1_000_000, outboundAllow, timeoutSeconds: 5, folderRoots: [] }) as S3Origin;
    origins.push(origin);
    return origin;
  };
  const isRefusal = (pattern: RegExp) => (error: unknown) =>
    isPictorError(error) && error.code === 'OUTBOUND_REFUSED' && error.status === 403 && /--outbound-allow/.test(error.message) && pattern.test(error.message);

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-s3rver-guard-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: 'media' }] });
    port = (await server.run()).port;
    const admin = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
    await admin.send(new PutObjectCommand({ Bucket: 'media', Key: 'a.png', Body: 'pixels', ContentType: 'image/png' }));
    admin.destroy();
    (server as unknown as { httpServer: import('node:net').Server }).httpServer.on('connection', () => connections++);
  });
  after(async () => {
    for (const origin of origins) origin.close();
    await server?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  it('refuses an IP-literal loopback endpoint of every bucket type without --outbound-allow, before connecting', async () => {
    const endpoints = [`http://127.0.0.1:${port}`, `http://[::1]:${port}`, `http://[::ffff:127.0.0.1]:${port}`];
    const before = connections;
    for (const endpoint of endpoints) {
      const deployments: (Partial<Deployment> & Pick<Deployment, 'type'>)[] = [
        { type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: KEY, endpoint },
        { type: 's3_compatible', bucket_name: 'media', access_key: KEY, secret_key: KEY, endpoint },
        { type: 'gcs', gcs_bucket: 'media', gcs_access_key: KEY, gcs_secret_key: KEY, endpoint },
      ];
      for (const deployment of deployments) {
        await assert.rejects(make(deployment, []).fetch('/a.png'), isRefusal(/is not a public address \(.*loopback\)/), `${deployment.type} ${endpoint}`);
      }
    }
    assert.equal(connections, before, 'never connected');
  });

  it('refuses an endpoint whose host name resolves to loopback (localhost), after resolution', async () => {
    const before = connections;
    const origin = make({ type: 's3_compatible', bucket_name: 'media', access_key: KEY, secret_key: KEY, endpoint: `http://localhost:${port}` }, []);
    await assert.rejects(origin.fetch('/a.png'), isRefusal(/localhost resolves to/));
    assert.equal(connections, before);
  });

  it('reaches it when --outbound-allow admits the address (IP literal and localhost)', async () => {
    for (const endpoint of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const before = connections;
      const result = await make({ type: 's3_compatible', bucket_name: 'media', access_key: KEY, secret_key: KEY, endpoint }, ['127.0.0.1/32']).fetch('/a.png');
      assert.equal(result.kind === 'found' && result.body.toString(), 'pixels', endpoint);
      assert.equal(connections, before + 1, 'the connection counter sees allowed fetches');
    }
  });

  it('connects to the address its own lookup validated (no second resolution to rebind)', async () => {
    // `bucket.rebind.test` exists only in this resolver: reaching s3rver proves the socket used the checked address.
    const resolved: string[] = [];
    const resolve = (hostname: string) => {
      resolved.push(hostname);
      return Promise.resolve([{ address: '10.1.2.3', family: 4 }, { address: '127.0.0.1', family: 4 }]);
    };
    const config = { bucket: 'media', endpoint: `http://bucket.rebind.test:${port}`, forcePathStyle: true, accessKeyId: KEY, secretAccessKey: KEY, maxBytes: 1000, timeoutSeconds: 5 };
    const allowed = new S3Origin({ ...config, outboundAllow: ['127.0.0.1/32'], resolve });
    const refused = new S3Origin({ ...config, outboundAllow: [], resolve });
    origins.push(allowed, refused);
    const result = await allowed.fetch('/a.png');
    assert.equal(result.kind === 'found' && result.body.toString(), 'pixels');
    assert.deepEqual(resolved, ['bucket.rebind.test']);
    const before = connections;
    await assert.rejects(refused.fetch('/a.png'), isRefusal(/bucket\.rebind\.test resolves to 10\.1\.2\.3, not a public address \(private/));
    assert.equal(connections, before);
  });
});
