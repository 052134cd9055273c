import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VideoFiles } from '../../src/video/video-files.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { makeClip, makeLyingClip, probe, untilProcessed } from '../helpers/video.ts';

/** `--video-max-duration` holds on what is decoded, not on what the container's header claims. */
describe('Video API duration limit on the decoded stream', { timeout: 600_000 }, () => {
  let t: TestPictor;

  before(async () => {
    const lying = await makeLyingClip({ width: 64, height: 64, seconds: 60, claimedSeconds: 1 });
    assert.equal((await probe(lying, '.mkv')).duration, 1, 'the header claims 1 s');
    t = await startPictor({
      assets: {
        'lying.mkv': lying,
        'at-limit.mp4': await makeClip({ width: 64, height: 64, seconds: 4.9 }),
      },
      options: { videoMaxDurationSeconds: '5' },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('a 60 s video whose header claims 1 s is 413 past the limit, and none of its segments is kept', async () => {
    const response = await untilProcessed(`${t.renderUrl}/lying.mkv?fm=hls`);
    const message = await response.text();
    assert.equal(response.status, 413, message);
    assert.match(message, /lasts more than 5 s once decoded \(its header says 1 s\), over the limit of 5 s \(--video-max-duration\)/);
    const state = await t.pictor.video!.state(t.defaultSourceId, '/lying.mkv');
    assert.deepEqual([state?.state, state?.errorCode], ['error', 'VIDEO_TOO_LARGE']);
    for (const output of ['fm=hls&rendition=64p&version=1', 'fm=hls&rendition=64p&version=1&segment=0', 'video-generate=thumbnail', 'fm=mp4']) {
      assert.equal((await fetch(`${t.renderUrl}/lying.mkv?${output}`)).status, 413, output);
    }
    const files = new VideoFiles(t.dataDir);
    await assert.rejects(fs.access(files.assetDir(t.defaultSourceId, '/lying.mkv')), 'no version directory');
    assert.deepEqual(await fs.readdir(path.join(files.root, 'tmp')), [], 'nothing left of the encode');
  });

  it('a video just within the limit is processed whole', async () => {
    const master = await untilProcessed(`${t.renderUrl}/at-limit.mp4?fm=hls`);
    assert.equal(master.status, 200);
    const mp4 = await fetch(`${t.renderUrl}/at-limit.mp4?fm=mp4`);
    assert.equal(mp4.status, 200);
    const duration = (await probe(Buffer.from(await mp4.arrayBuffer()))).duration;
    assert.ok(Math.abs(duration - 4.9) < 0.2, `duration ${duration}`);
  });
});
