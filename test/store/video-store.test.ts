import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VideoOrigin, VideoStore } from '../../src/store/video-store.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const ORIGIN_A: VideoOrigin = { etag: '"a"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT', size: 1000, sha256: 'aa' };
const ORIGIN_B: VideoOrigin = { etag: '"b"', lastModified: null, size: 2000, sha256: 'bb' };
const PROBE = { durationSeconds: 3, width: 640, height: 360, videoCodec: 'h264', hasAudio: true, raw: { streams: [], format: {} } };

/** The contract both implementations keep; `open` gives a store on an empty database. */
function videoStoreContract(open: () => Promise<VideoStore>): void {
  it('creates a video at version 1 in processing, then moves it to processed', async () => {
    const store = await open();
    assert.equal(await store.get('src', '/a.mp4'), undefined);
    const created = await store.startVersion('src', '/a.mp4', ORIGIN_A, PROBE, 1000);
    assert.equal(created.state, 'processing');
    assert.equal(created.version, 1);
    assert.deepEqual(created.origin, ORIGIN_A);
    assert.deepEqual(created.probe, PROBE);
    assert.equal(created.createdAt, 1000);
    assert.equal(created.checkedAt, 1000);
    assert.equal(await store.markProcessed('src', '/a.mp4', 1, 2000), true);
    const processed = await store.get('src', '/a.mp4');
    assert.equal(processed?.state, 'processed');
    assert.equal(processed?.updatedAt, 2000);
    assert.equal(processed?.errorCode, null);
  });

  it('a new version supersedes the old: the old job can neither finish nor fail it', async () => {
    const store = await open();
    await store.startVersion('src', '/a.mp4', ORIGIN_A, PROBE, 1000);
    const next = await store.startVersion('src', '/a.mp4', ORIGIN_B, null, 1500);
    assert.equal(next.version, 2);
    assert.equal(next.createdAt, 1000);
    assert.deepEqual(next.origin, ORIGIN_B);
    assert.equal(next.probe, null);
    assert.equal(await store.markProcessed('src', '/a.mp4', 1, 2000), false);
    assert.equal(await store.markError('src', '/a.mp4', 1, { code: 'UNSUPPORTED_VIDEO', reason: 'x' }, 2000), false);
    assert.equal((await store.get('src', '/a.mp4'))?.state, 'processing');
    assert.equal(await store.markProcessed('src', '/a.mp4', 2, 2000), true);
  });

  it('keeps an error with its code and reason, cleared by the next version', async () => {
    const store = await open();
    await store.startVersion('src', '/bad.mp4', ORIGIN_A, null, 1000);
    assert.equal(await store.markError('src', '/bad.mp4', 1, { code: 'UNSUPPORTED_VIDEO', reason: 'moov atom not found' }, 1100), true);
    const failed = await store.get('src', '/bad.mp4');
    assert.equal(failed?.state, 'error');
    assert.equal(failed?.errorCode, 'UNSUPPORTED_VIDEO');
    assert.equal(failed?.reason, 'moov atom not found');
    const retried = await store.startVersion('src', '/bad.mp4', ORIGIN_B, PROBE, 1200);
    assert.equal(retried.state, 'processing');
    assert.equal(retried.errorCode, null);
    assert.equal(retried.reason, null);
  });

  it('lists by state and by last check; keys are (Source, path)', async () => {
    const store = await open();
    await store.startVersion('src', '/a.mp4', ORIGIN_A, PROBE, 1000);
    await store.startVersion('src', '/b.mp4', ORIGIN_A, PROBE, 1100);
    await store.startVersion('other', '/a.mp4', ORIGIN_A, PROBE, 1200);
    await store.markProcessed('src', '/b.mp4', 1, 1300);
    assert.deepEqual((await store.listByState('processing', 10)).map((video) => `${video.sourceId}${video.path}`), ['src/a.mp4', 'other/a.mp4']);
    assert.deepEqual((await store.listByState('processed', 10)).map((video) => video.path), ['/b.mp4']);
    await store.markChecked('src', '/a.mp4', ORIGIN_B, 5000);
    assert.deepEqual((await store.get('src', '/a.mp4'))?.origin, ORIGIN_B);
    assert.deepEqual((await store.listCheckedBefore(2000, 10)).map((video) => `${video.sourceId}${video.path}`), ['src/b.mp4', 'other/a.mp4']);
    assert.equal((await store.listCheckedBefore(2000, 1)).length, 1);
  });

  it('starts a version only from the version expected: of two that start from the same one, one wins', async () => {
    const store = await open();
    const first = await store.startVersionAfter('src', '/a.mp4', null, ORIGIN_A, PROBE, 1000);
    assert.equal(first?.version, 1);
    assert.equal(await store.startVersionAfter('src', '/a.mp4', null, ORIGIN_B, PROBE, 1001), undefined);
    assert.deepEqual((await store.get('src', '/a.mp4'))?.origin, ORIGIN_A);
    const next = await store.startVersionAfter('src', '/a.mp4', 1, ORIGIN_B, null, 1100);
    assert.equal(next?.version, 2);
    assert.deepEqual(next?.origin, ORIGIN_B);
    assert.equal(await store.startVersionAfter('src', '/a.mp4', 1, ORIGIN_A, PROBE, 1101), undefined);
    assert.equal((await store.get('src', '/a.mp4'))?.version, 2);
  });

  it('lets one node claim an encode until its lease expires, then another takes it', async () => {
    const store = await open();
    await store.startVersionAfter('src', '/a.mp4', null, ORIGIN_A, PROBE, 1000);
    assert.equal(await store.claimEncode('src', '/a.mp4', 1, 'node-1', 500, 1000), true);
    assert.equal(await store.claimEncode('src', '/a.mp4', 1, 'node-2', 500, 1200), false);
    assert.deepEqual((await store.get('src', '/a.mp4'))?.claim, { node: 'node-1', expiresAt: 1500 });
    // Renewed while it encodes: still its own past the first expiry.
    assert.equal(await store.renewClaim('src', '/a.mp4', 1, 'node-1', 500, 1400), true);
    assert.equal(await store.claimEncode('src', '/a.mp4', 1, 'node-2', 500, 1600), false);
    assert.equal(await store.renewClaim('src', '/a.mp4', 1, 'node-2', 500, 1600), false);
    // Not renewed (the encoder died): at expiry another node takes it, and the first can no longer renew.
    assert.equal(await store.claimEncode('src', '/a.mp4', 1, 'node-2', 500, 1900), true);
    assert.equal(await store.renewClaim('src', '/a.mp4', 1, 'node-1', 500, 1950), false);
    const taken = await store.get('src', '/a.mp4');
    assert.deepEqual(taken?.claim, { node: 'node-2', expiresAt: 2400 });
    assert.equal(taken?.encodes, 2);
  });

  it('claims only the current version while it is processing; finishing or a new version ends the claim', async () => {
    const store = await open();
    await store.startVersionAfter('src', '/a.mp4', null, ORIGIN_A, PROBE, 1000);
    assert.equal(await store.claimEncode('src', '/a.mp4', 2, 'node-1', 500, 1000), false);
    assert.equal(await store.claimEncode('other', '/a.mp4', 1, 'node-1', 500, 1000), false);
    assert.equal(await store.claimEncode('src', '/a.mp4', 1, 'node-1', 500, 1000), true);
    await store.startVersionAfter('src', '/a.mp4', 1, ORIGIN_B, PROBE, 1100);
    const next = await store.get('src', '/a.mp4');
    assert.equal(next?.claim, null);
    assert.equal(await store.renewClaim('src', '/a.mp4', 1, 'node-1', 500, 1100), false);
    assert.equal(await store.claimEncode('src', '/a.mp4', 2, 'node-2', 500, 1100), true);
    assert.equal(await store.markProcessed('src', '/a.mp4', 2, 1200), true);
    const processed = await store.get('src', '/a.mp4');
    assert.equal(processed?.claim, null);
    assert.equal(processed?.encodes, 2);
    assert.equal(await store.claimEncode('src', '/a.mp4', 2, 'node-3', 500, 1300), false);
  });

  it('removes a video', async () => {
    const store = await open();
    await store.startVersion('src', '/a.mp4', ORIGIN_A, PROBE, 1000);
    assert.equal(await store.remove('src', '/a.mp4'), true);
    assert.equal(await store.remove('src', '/a.mp4'), false);
    assert.equal(await store.get('src', '/a.mp4'), undefined);
    assert.equal(await store.markProcessed('src', '/a.mp4', 1, 2000), false);
  });
}

for (const backend of storeBackends('videos')) {
  describe(`VideoStore on ${backend.name}`, () => videoStoreContract(async () => (await (await backend.fresh()).open()).videos));
}
