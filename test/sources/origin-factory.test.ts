import assert from 'node:assert/strict';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { FolderOrigin } from '../../src/sources/folder-origin.ts';
import { DEFAULT_DEPLOYMENT, type Deployment, type SourceRecord } from '../../src/store/source-record.ts';
import { createOrigin, GCS_ENDPOINT } from '../../src/sources/origin-factory.ts';
import { S3Origin } from '../../src/sources/s3-origin.ts';
import { WebFolderOrigin } from '../../src/sources/webfolder-origin.ts';
import { WebProxyOrigin } from '../../src/sources/webproxy-origin.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';
import { rawGet, solidImage, startPictor } from '../helpers/pictor.ts';

let counter = 0;
function source(deployment: Partial<Deployment> & Pick<Deployment, 'type'>): SourceRecord {
  counter++;
  return { id: counter.toString(16).padStart(24, '0'), name: `s${counter}`, enabled: true, secureUrlToken: undefined, dateDeployed: 0, deployment: { ...DEFAULT_DEPLOYMENT, ...deployment } };
}

const deps = { maxInputBytes: 1000, outboundAllow: [], timeoutSeconds: 1, folderRoots: [fsSync.realpathSync(os.tmpdir())] };

describe('createOrigin', () => {
  it('builds one Origin per Source type', async () => {
    assert.ok(createOrigin(source({ type: 'folder', folder_path: os.tmpdir() }), deps) instanceof FolderOrigin);
    assert.ok(createOrigin(source({ type: 'webfolder', webfolder_base_url: 'https://example.com/img/' }), deps) instanceof WebFolderOrigin);
    assert.ok(createOrigin(source({ type: 'webproxy' }), deps) instanceof WebProxyOrigin);
    const s3 = createOrigin(source({ type: 's3', s3_bucket: 'b', region: 'eu-west-1' }), deps) as S3Origin;
    assert.ok(s3 instanceof S3Origin);
    assert.equal(await s3.client.config.region(), 'eu-west-1');
    assert.equal(s3.client.config.forcePathStyle, false, 'virtual-hosted style on AWS');
    const gcs = createOrigin(source({ type: 'gcs', gcs_bucket: 'b', gcs_prefix: 'p' }), deps) as S3Origin;
    const gcsEndpoint = await gcs.client.config.endpoint!();
    assert.equal(`${gcsEndpoint.protocol}//${gcsEndpoint.hostname}`, GCS_ENDPOINT);
    assert.equal(gcs.client.config.forcePathStyle, true);
    assert.equal(gcs.keyFor('/a%20b.png'), 'p/a b.png');
    const compatible = createOrigin(source({ type: 's3_compatible', bucket_name: 'b', storage_provider: 'digitalocean', region: 'nyc3' }), deps) as S3Origin;
    assert.equal((await compatible.client.config.endpoint!()).hostname, 'nyc3.digitaloceanspaces.com');
    const pathStyleOff = createOrigin(source({ type: 's3_compatible', bucket_name: 'b', endpoint: 'http://minio:9000', force_path_style: false }), deps) as S3Origin;
    assert.equal(pathStyleOff.client.config.forcePathStyle, false);
    for (const origin of [s3, gcs, compatible, pathStyleOff]) origin.close();
  });

  it('names the missing field of a misconfigured Source, and refuses unknown types', () => {
    const cases: [Partial<Deployment> & Pick<Deployment, 'type'>, RegExp][] = [
      [{ type: 'webfolder' }, /webfolder_base_url/],
      [{ type: 'webfolder', webfolder_base_url: 'ftp://example.com/' }, /http or https/],
      [{ type: 's3' }, /s3_bucket/],
      [{ type: 's3_compatible' }, /bucket_name/],
      [{ type: 's3_compatible', bucket_name: 'b', storage_provider: 'cloudflare' }, /endpoint/],
      [{ type: 'gcs' }, /gcs_bucket/],
      [{ type: 'azure' as Deployment['type'] }, /type "azure"/],
    ];
    for (const [deployment, message] of cases) {
      assert.throws(() => createOrigin(source(deployment), deps), (error) => isPictorError(error) && message.test(error.message), JSON.stringify(deployment));
    }
  });
});

describe('the registry serves remote Sources with the outbound options of Pictor', () => {
  let origin: TestOrigin;
  let image: Buffer;
  let root: string;
  before(async () => {
    image = await solidImage(8, 8, [200, 10, 10], 'png');
    origin = await startOrigin((req, res) => {
      if (req.url === '/images/red.png') res.writeHead(200, { 'content-type': 'image/png' }).end(image);
      else res.writeHead(404).end();
    });
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-registry-'));
  });
  after(async () => {
    await origin.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function pictorWithWebfolder(name: string, options: Record<string, string>) {
    const dataDir = path.join(root, name);
    const stores = await openStores({ dataDir });
    await stores.sources.upsert(source({ type: 'webfolder', webfolder_base_url: `${origin.url}/images/`, custom_domains: ['wf.test'] }));
    await stores.close();
    return startPictor({ dataDir, options });
  }

  it('refuses a webfolder on 127.0.0.1 without --outbound-allow (4xx, no request sent)', async () => {
    const t = await pictorWithWebfolder('refused', {});
    try {
      const response = await rawGet(t.renderPort, '/red.png?w=4', { host: 'wf.test' });
      assert.equal(response.status, 403, response.body.toString());
      assert.match(response.body.toString(), /not a public address \(loopback\)/);
      assert.equal(origin.requests.length, 0);
      assert.equal(origin.connections, 0);
    } finally {
      await t.stop();
    }
  });

  it('serves it with --outbound-allow 127.0.0.1/32', async () => {
    const t = await pictorWithWebfolder('allowed', { outboundAllow: '127.0.0.1/32', originTimeoutSeconds: '2' });
    try {
      const response = await rawGet(t.renderPort, '/red.png?w=4&fm=png', { host: 'wf.test' });
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-type'], 'image/png');
      assert.equal(origin.requests.at(-1)!.url, '/images/red.png');
    } finally {
      await t.stop();
    }
  });
});
