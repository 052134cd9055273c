import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { videoStoreLocation } from '../../src/config/parsers.ts';
import { S3VideoStorage } from '../../src/video/s3-video-storage.ts';
import { DirectoryVideoStorage, readAll, type VideoStorage } from '../../src/video/video-storage.ts';
import { S3RVER_KEY, startBucket, type TestBucket } from '../helpers/s3-bucket.ts';

let scratch: string;

/** A local file holding `body`, as the encoder hands files to the store. */
async function local(body: string): Promise<string> {
  const file = path.join(scratch, `${Math.random().toString(36).slice(2)}.bin`);
  await fs.writeFile(file, body);
  return file;
}

/** The contract both video stores keep. */
function videoStorageContract(open: () => VideoStorage): void {
  it('stores a file and reads it back whole or by byte range', async () => {
    const storage = open();
    await storage.put('a1/v1/720p/seg_000.ts', await local('0123456789'));
    assert.equal((await storage.stat('a1/v1/720p/seg_000.ts'))?.size, 10);
    assert.equal((await readAll(storage, 'a1/v1/720p/seg_000.ts')).toString(), '0123456789');
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.read('a1/v1/720p/seg_000.ts', 2, 5)) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), '2345');
    await storage.put('a1/v1/720p/seg_000.ts', await local('replaced'));
    assert.equal((await readAll(storage, 'a1/v1/720p/seg_000.ts')).toString(), 'replaced');
  });

  it('says when nothing is stored under a key', async () => {
    const storage = open();
    assert.equal(await storage.stat('nothing/v1/ladder.json'), undefined);
    await assert.rejects(storage.read('nothing/v1/ladder.json'));
  });

  it('deletes every key under a prefix, or all but one version', async () => {
    const storage = open();
    for (const key of ['b2/v1/ladder.json', 'b2/v2/ladder.json', 'b2/v2/out/x.mp4', 'b20/v1/ladder.json']) await storage.put(key, await local(key));
    await storage.deletePrefix('b2', 'v2');
    assert.equal(await storage.stat('b2/v1/ladder.json'), undefined);
    assert.ok(await storage.stat('b2/v2/out/x.mp4'));
    await storage.deletePrefix('b2');
    assert.equal(await storage.stat('b2/v2/ladder.json'), undefined);
    assert.equal(await storage.stat('b2/v2/out/x.mp4'), undefined);
    assert.ok(await storage.stat('b20/v1/ladder.json'), 'a prefix is a whole path part: b20 is not under b2');
    await storage.deletePrefix('never-stored');
  });
}

describe('video stores', () => {
  let bucket: TestBucket;
  let dir: string;
  before(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-video-storage-'));
    dir = path.join(scratch, 'store');
    bucket = await startBucket('outputs');
  });
  after(async () => {
    await bucket?.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  describe('a directory', () => {
    videoStorageContract(() => new DirectoryVideoStorage(dir));
    it('refuses a key that would leave its directory', async () => {
      await assert.rejects(new DirectoryVideoStorage(dir).stat('../escape'));
    });
  });
  describe('an S3-compatible bucket (s3rver), under a prefix', () => {
    videoStorageContract(
      () => new S3VideoStorage({ bucket: 'outputs', prefix: 'pictor/video', endpoint: bucket.endpoint, region: 'us-east-1', accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY }),
    );
  });

  it('--video-store takes a directory or s3://BUCKET/PREFIX, and says what is wrong with anything else', () => {
    assert.deepEqual(videoStoreLocation('s3://media-out/pictor/video/'), { kind: 's3', bucket: 'media-out', prefix: 'pictor/video' });
    assert.deepEqual(videoStoreLocation('s3://media-out'), { kind: 's3', bucket: 'media-out', prefix: '' });
    assert.deepEqual(videoStoreLocation('/srv/video'), { kind: 'directory', path: '/srv/video' });
    assert.throws(() => videoStoreLocation('s3://No_Such!/x'), /valid bucket name/);
    assert.throws(() => videoStoreLocation('s3://media-out/a/../b'), /\.\. parts/);
  });
});
