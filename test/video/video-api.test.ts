import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { VideoFiles } from '../../src/video/video-files.ts';
import { solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { makeClip, probe, untilProcessed } from '../helpers/video.ts';

/** The master playlist's variant URLs and resolutions. */
function variants(master: string): { uri: string; resolution: string }[] {
  const lines = master.split('\n');
  const out: { uri: string; resolution: string }[] = [];
  lines.forEach((line, index) => {
    const resolution = /RESOLUTION=(\d+x\d+)/.exec(line)?.[1];
    if (line.startsWith('#EXT-X-STREAM-INF') && resolution) out.push({ uri: lines[index + 1]!, resolution });
  });
  return out;
}

function segmentUris(variant: string): string[] {
  return variant.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('Video API', { timeout: 600_000 }, () => {
  let t: TestPictor;
  let clip360: Buffer;

  before(async () => {
    clip360 = await makeClip({ width: 640, height: 360, seconds: 3 });
    t = await startPictor({
      assets: {
        'clip.mp4': clip360,
        'hd.mov': await makeClip({ width: 1280, height: 720, seconds: 2 }),
        'silent.webm.mp4': await makeClip({ width: 320, height: 240, seconds: 2, audio: false }),
        'broken.mp4': Buffer.concat([clip360.subarray(0, 4000)]),
        'not-a-video.mp4': Buffer.from('this is text, not a video\n'),
        'photo.jpg': await solidImage(40, 30, [10, 200, 10]),
        'tiny.mp4': await makeClip({ width: 64, height: 64, seconds: 1, audio: false }),
        'small.mp4': await makeClip({ width: 200, height: 112, seconds: 1 }),
      },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('answers 423 with Retry-After and no-store while processing, then 200 with the master playlist', async () => {
    const first = await fetch(`${t.renderUrl}/clip.mp4?fm=hls`);
    assert.equal(first.status, 423);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.match(first.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(first.headers.get('access-control-allow-origin'), '*');
    assert.match(await first.text(), /being processed/);
    const state = await t.pictor.video!.state(t.defaultSourceId, '/clip.mp4');
    assert.equal(state?.state, 'processing');

    const ready = await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`);
    assert.equal(ready.status, 200);
    assert.equal(ready.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(ready.headers.get('access-control-allow-origin'), '*');
    const master = await ready.text();
    assert.match(master, /^#EXTM3U/);
    assert.match(master, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    // A 640×360 source gets one rendition: nothing above the source.
    assert.deepEqual(variants(master).map((variant) => variant.resolution), ['640x360']);
    assert.equal((await t.pictor.video!.state(t.defaultSourceId, '/clip.mp4'))?.state, 'processed');
  });

  it('serves variant playlists and segments under versioned URLs, with their content types and CORS', async () => {
    const master = await (await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`)).text();
    const variantUrl = new URL(variants(master)[0]!.uri, `${t.renderUrl}/clip.mp4?fm=hls`);
    assert.equal(variantUrl.pathname, '/clip.mp4');
    const variant = await fetch(variantUrl);
    assert.equal(variant.status, 200);
    assert.equal(variant.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.match(variant.headers.get('cache-control') ?? '', /immutable/);
    const body = await variant.text();
    assert.match(body, /#EXT-X-ENDLIST/);
    const segments = segmentUris(body);
    assert.ok(segments.length >= 1);
    let total = 0;
    for (const uri of segments) {
      const segment = await fetch(new URL(uri, variantUrl));
      assert.equal(segment.status, 200);
      assert.equal(segment.headers.get('content-type'), 'video/mp2t');
      assert.equal(segment.headers.get('access-control-allow-origin'), '*');
      assert.match(segment.headers.get('access-control-expose-headers') ?? '', /Content-Range/);
      const bytes = Buffer.from(await segment.arrayBuffer());
      assert.equal(bytes[0], 0x47, 'an MPEG-TS packet starts with the sync byte');
      total += bytes.length;
    }
    assert.ok(total > 10_000);
    const missing = await fetch(`${t.renderUrl}/clip.mp4?fm=hls&rendition=1080p&version=1`);
    assert.equal(missing.status, 404);
    const oldVersion = await fetch(`${t.renderUrl}/clip.mp4?fm=hls&rendition=360p&version=99`);
    assert.equal(oldVersion.status, 404);
    const preflight = await fetch(`${t.renderUrl}/clip.mp4?fm=hls`, { method: 'OPTIONS', headers: { origin: 'http://elsewhere.test', 'access-control-request-headers': 'range' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Range/);
  });

  it('every rendition a master playlist lists answers 200, and every segment in it, down to a 64×64 video', async () => {
    for (const [name, resolution] of [['tiny.mp4', '64x64'], ['small.mp4', '200x112']] as const) {
      const masterUrl = `${t.renderUrl}/${name}?fm=hls`;
      const listed = variants(await (await untilProcessed(masterUrl)).text());
      assert.deepEqual(listed.map((variant) => variant.resolution), [resolution]);
      for (const { uri } of listed) {
        const variantUrl = new URL(uri, masterUrl);
        const variant = await fetch(variantUrl);
        const body = await variant.text();
        assert.equal(variant.status, 200, `${variantUrl.search}: ${body}`);
        const segments = segmentUris(body);
        assert.ok(segments.length >= 1);
        for (const segment of segments) assert.equal((await fetch(new URL(segment, variantUrl))).status, 200, segment);
      }
    }
  });

  it('caps the ladder at the source: a 720p video gets 720p and 360p, no 1080p', async () => {
    const master = await (await untilProcessed(`${t.renderUrl}/hd.mov?fm=hls`)).text();
    assert.deepEqual(variants(master).map((variant) => variant.resolution), ['1280x720', '640x360']);
  });

  it('fm=mp4: res=high is capped at the source, res=low is 360p; byte ranges on the output', async () => {
    const high = await untilProcessed(`${t.renderUrl}/hd.mov?fm=mp4&res=high`);
    assert.equal(high.status, 200);
    assert.equal(high.headers.get('content-type'), 'video/mp4');
    assert.equal(high.headers.get('accept-ranges'), 'bytes');
    const highBody = Buffer.from(await high.arrayBuffer());
    const highInfo = await probe(highBody);
    assert.deepEqual([highInfo.width, highInfo.height, highInfo.codec], [1280, 720, 'h264']);
    assert.ok(Math.abs(highInfo.duration - 2) < 0.3, `duration ${highInfo.duration}`);
    const low = await probe(Buffer.from(await (await fetch(`${t.renderUrl}/hd.mov?fm=mp4&res=low`)).arrayBuffer()));
    assert.deepEqual([low.width, low.height], [640, 360]);
    // A 360p source: every res is that one file.
    const fromSmall = await probe(Buffer.from(await (await untilProcessed(`${t.renderUrl}/clip.mp4?fm=mp4&res=high`)).arrayBuffer()));
    assert.deepEqual([fromSmall.width, fromSmall.height], [640, 360]);

    const range = await fetch(`${t.renderUrl}/hd.mov?fm=mp4&res=high`, { headers: { range: 'bytes=100-199' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), `bytes 100-199/${highBody.length}`);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), highBody.subarray(100, 200));
    const past = await fetch(`${t.renderUrl}/hd.mov?fm=mp4&res=high`, { headers: { range: `bytes=${highBody.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${highBody.length}`);
  });

  it('a video without audio gets a video-only ladder', async () => {
    const master = await (await untilProcessed(`${t.renderUrl}/silent.webm.mp4?fm=hls`)).text();
    assert.match(master, /CODECS="avc1\.[0-9a-f]{6}"/);
    assert.deepEqual(variants(master).map((variant) => variant.resolution), ['320x240']);
    const mp4 = await probe(Buffer.from(await (await fetch(`${t.renderUrl}/silent.webm.mp4?fm=mp4`)).arrayBuffer()));
    assert.deepEqual(mp4.streams, ['video']);
  });

  it('video-generate=thumbnail: a frame through the image pipeline (w, fit, fm)', async () => {
    await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`);
    const plain = await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), 'image/jpeg');
    const plainInfo = await sharp(Buffer.from(await plain.arrayBuffer())).metadata();
    assert.deepEqual([plainInfo.format, plainInfo.width, plainInfo.height], ['jpeg', 640, 360]);

    const small = await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail&video-thumbnail-time=1&w=120&fm=webp`);
    assert.equal(small.status, 200);
    assert.equal(small.headers.get('content-type'), 'image/webp');
    const smallInfo = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    assert.deepEqual([smallInfo.format, smallInfo.width, smallInfo.height], ['webp', 120, 68]);

    const cropped = await sharp(Buffer.from(await (await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail&w=100&h=100&fit=crop&fm=png`)).arrayBuffer())).metadata();
    assert.deepEqual([cropped.format, cropped.width, cropped.height], ['png', 100, 100]);
    // Past the end gives the last frame, a negative time the first.
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail&video-thumbnail-time=99`)).status, 200);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail&video-thumbnail-time=-5`)).status, 200);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail&video-thumbnail-time=soon`)).status, 400);
  });

  it('video-generate=gif: its length and frame rate as asked, 250 ms to 10 s', async () => {
    await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`);
    const gif = await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-time-start=0.5&video-gif-time-end=2.5&video-gif-fps=10`);
    assert.equal(gif.status, 200);
    assert.equal(gif.headers.get('content-type'), 'image/gif');
    const info = await sharp(Buffer.from(await gif.arrayBuffer()), { animated: true }).metadata();
    assert.equal(info.format, 'gif');
    assert.ok(Math.abs((info.pages ?? 0) - 20) <= 1, `2 s at 10 fps is 20 frames, got ${info.pages}`);
    assert.equal(info.loop, 0);
    // The end is capped at the duration (3 s), so the default 5 s from 1 s is 2 s.
    const capped = await sharp(Buffer.from(await (await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-time-start=1&video-gif-fps=5`)).arrayBuffer()), { animated: true }).metadata();
    assert.ok(Math.abs((capped.pages ?? 0) - 10) <= 1, `2 s at 5 fps is 10 frames, got ${capped.pages}`);

    const tooShort = await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-time-start=1&video-gif-time-end=1.1`);
    assert.equal(tooShort.status, 400);
    assert.match(await tooShort.text(), /0\.25 to 10 seconds/);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-time-start=5`)).status, 400);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-time-start=-1`)).status, 400);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=gif&video-gif-fps=60`)).status, 400);
  });

  it('video-generate=storyboard: a sprite (jpg, png) and its VTT and JSON maps', async () => {
    await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`);
    const json = (await (await fetch(`${t.renderUrl}/clip.mp4?video-generate=storyboard&video-storyboard-format=json`)).json()) as any;
    assert.equal(json.tiles.length, 3);
    assert.equal(json.tile_width, 232);
    const sprite = await fetch(new URL(json.url, `${t.renderUrl}/clip.mp4`));
    assert.equal(sprite.headers.get('content-type'), 'image/jpeg');
    const spriteInfo = await sharp(Buffer.from(await sprite.arrayBuffer())).metadata();
    assert.deepEqual([spriteInfo.width, spriteInfo.height], [json.columns * json.tile_width, json.rows * json.tile_height]);
    const png = await fetch(`${t.renderUrl}/clip.mp4?video-generate=storyboard&video-storyboard-format=png`);
    assert.equal(png.headers.get('content-type'), 'image/png');
    const vtt = await fetch(`${t.renderUrl}/clip.mp4?video-generate=storyboard&video-storyboard-format=vtt`);
    assert.equal(vtt.headers.get('content-type'), 'text/vtt; charset=utf-8');
    const cues = await vtt.text();
    assert.match(cues, /^WEBVTT\n\n00:00:00\.000 --> 00:00:01\.000\n\.\/clip\.mp4\?video-generate=storyboard&video-storyboard-format=jpg#xywh=0,0,232,\d+\n/);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=storyboard&video-storyboard-format=gif`)).status, 400);
  });

  it('fm=json gives ffprobe-style streams and format; vdl downloads with a safe file name', async () => {
    await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`);
    const json = (await (await fetch(`${t.renderUrl}/clip.mp4?fm=json`)).json()) as any;
    assert.deepEqual(json.streams.map((stream: any) => stream.codec_type), ['video', 'audio']);
    assert.equal(json.streams[0].width, 640);
    assert.ok(Math.abs(Number(json.format.duration) - 3) < 0.2);
    assert.equal(json.format.filename, undefined, 'no server path leaks');

    const download = await fetch(`${t.renderUrl}/clip.mp4?vdl`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'video/mp4');
    assert.equal(download.headers.get('content-disposition'), `attachment; filename="clip.mp4"; filename*=UTF-8''clip.mp4`);
    const named = await fetch(`${t.renderUrl}/clip.mp4?fm=mp4&res=low&vdl=${encodeURIComponent('../my "holiday"\r\n.mp4')}`);
    assert.equal(named.headers.get('content-disposition'), `attachment; filename="_my _holiday_.mp4"; filename*=UTF-8''_my%20_holiday_.mp4`);
  });

  it('passes a video through unchanged without video parameters: ranges 206/416, content type, ETag', async () => {
    const whole = await fetch(`${t.renderUrl}/clip.mp4`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.ok(whole.headers.get('etag'));
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), clip360);
    for (const attempt of ['first', 'cached']) {
      const part = await fetch(`${t.renderUrl}/clip.mp4`, { headers: { range: 'bytes=1000-1999' } });
      assert.equal(part.status, 206, attempt);
      assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${clip360.length}`);
      assert.equal(part.headers.get('content-length'), '1000');
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), clip360.subarray(1000, 2000));
    }
    const suffix = await fetch(`${t.renderUrl}/clip.mp4`, { headers: { range: 'bytes=-10' } });
    assert.equal(suffix.status, 206);
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), clip360.subarray(-10));
    const open = await fetch(`${t.renderUrl}/clip.mp4?w=100`, { headers: { range: 'bytes=10-' } });
    assert.equal(open.status, 206);
    assert.equal(open.headers.get('content-range'), `bytes 10-${clip360.length - 1}/${clip360.length}`);
    const past = await fetch(`${t.renderUrl}/clip.mp4`, { headers: { range: `bytes=${clip360.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${clip360.length}`);
    // Images are unchanged: no ranges offered.
    const image = await fetch(`${t.renderUrl}/photo.jpg?w=20`, { headers: { range: 'bytes=0-9' } });
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('accept-ranges'), null);
  });

  it('a corrupt file or a non-video ends in the error state: 422 with the reason, and the server goes on', async () => {
    // Text is refused by ffprobe at the first request; a truncated MP4 (its index intact) when ffmpeg decodes it.
    for (const [name, reason] of [['not-a-video.mp4', /cannot be read as a video: (moov atom not found|the file: Invalid data)/], ['broken.mp4', /could not encode the video: .*(Invalid data|partial file)/]] as const) {
      const response = await untilProcessed(`${t.renderUrl}/${name}?fm=hls`);
      assert.equal(response.status, 422, name);
      const message = await response.text();
      assert.match(message, reason);
      assert.doesNotMatch(message, /\/tmp|\/video\//, 'no server path in the reason');
      const state = await t.pictor.video!.state(t.defaultSourceId, `/${name}`);
      assert.equal(state?.state, 'error');
      assert.ok(state?.reason);
      assert.equal((await fetch(`${t.renderUrl}/${name}?video-generate=thumbnail`)).status, 422);
    }
    assert.equal((await fetch(`${t.renderUrl}/missing.mp4?fm=hls`)).status, 404);
    assert.equal((await fetch(`${t.renderUrl}/clip.mp4?fm=hls&rendition=big`)).status, 400);
    assert.equal((await fetch(`${t.renderUrl}/photo.jpg?w=10`)).status, 200);
  });

  it('refresh: unchanged bytes are not encoded again; new bytes make a new version and the old one is never served', async () => {
    await t.put('refresh.mp4', await makeClip({ width: 320, height: 180, seconds: 2 }));
    await untilProcessed(`${t.renderUrl}/refresh.mp4?fm=hls`);
    const video = t.pictor.video!;
    const before = await video.state(t.defaultSourceId, '/refresh.mp4');
    assert.equal(before?.version, 1);
    assert.equal((await video.refresh(t.defaultSourceId, '/refresh.mp4'))?.outcome, 'unchanged');
    // Touched, same bytes: still unchanged.
    const file = path.join(t.assetsDir, 'refresh.mp4');
    await fs.utimes(file, new Date(), new Date(Date.now() + 5000));
    assert.equal((await video.refresh(t.defaultSourceId, '/refresh.mp4'))?.outcome, 'unchanged');
    assert.equal((await video.state(t.defaultSourceId, '/refresh.mp4'))?.version, 1);

    const oldSegment = `${t.renderUrl}/refresh.mp4?fm=hls&rendition=180p&version=1&segment=0`;
    assert.equal((await fetch(oldSegment)).status, 200);
    await t.put('refresh.mp4', await makeClip({ width: 480, height: 270, seconds: 2, pattern: 'testsrc' }));
    const refreshed = await video.refresh(t.defaultSourceId, '/refresh.mp4');
    assert.equal(refreshed?.outcome, 'reprocessing');
    assert.equal(refreshed?.record?.version, 2);
    assert.equal((await fetch(`${t.renderUrl}/refresh.mp4?fm=hls`)).status, 423, 'the old master is not served once the refresh returned');
    assert.equal((await fetch(oldSegment)).status, 423);
    const master = await (await untilProcessed(`${t.renderUrl}/refresh.mp4?fm=hls`)).text();
    assert.deepEqual(variants(master).map((variant) => variant.resolution), ['480x270']);
    assert.match(variants(master)[0]!.uri, /version=2/);
    assert.equal((await fetch(oldSegment)).status, 404);

    assert.equal(await video.refresh(t.defaultSourceId, '/never-requested.mp4'), undefined);
  });

  it('remove and recheck: a video gone at its origin loses every output', async () => {
    await t.put('gone.mp4', await makeClip({ width: 320, height: 180, seconds: 2 }));
    await untilProcessed(`${t.renderUrl}/gone.mp4?fm=hls`);
    const video = t.pictor.video!;
    assert.deepEqual(await video.recheckOlderThan(60_000), { unchanged: 0, reprocessing: 0, removed: 0, error: 0 });
    await t.remove('gone.mp4');
    const counts = await video.recheckOlderThan(0);
    assert.equal(counts.removed, 1);
    assert.equal(await video.state(t.defaultSourceId, '/gone.mp4'), undefined);
    assert.equal((await fetch(`${t.renderUrl}/gone.mp4?fm=hls`)).status, 404);
    const assetDirs = await fs.readdir(path.join(t.dataDir, 'video', 'assets'));
    const stateless = [];
    for (const dir of assetDirs) stateless.push(...(await fs.readdir(path.join(t.dataDir, 'video', 'assets', dir))));
    assert.ok(stateless.every((entry) => /^v\d+$/.test(entry)));

    await t.put('removed.mp4', await makeClip({ width: 320, height: 180, seconds: 2 }));
    await untilProcessed(`${t.renderUrl}/removed.mp4?fm=hls`);
    assert.equal(await video.remove(t.defaultSourceId, '/removed.mp4'), true);
    assert.equal(await video.remove(t.defaultSourceId, '/removed.mp4'), false);
  });

  it('a processed video whose outputs are gone from the video store is encoded again, once, as its next version', async () => {
    await t.put('lost.mp4', await makeClip({ width: 320, height: 180, seconds: 2 }));
    await untilProcessed(`${t.renderUrl}/lost.mp4?fm=hls`);
    const video = t.pictor.video!;
    await fs.rm(new VideoFiles(t.dataDir).assetDir(t.defaultSourceId, '/lost.mp4'), { recursive: true, force: true });
    assert.equal((await fetch(`${t.renderUrl}/lost.mp4?fm=hls`)).status, 423);
    const master = await (await untilProcessed(`${t.renderUrl}/lost.mp4?fm=hls`)).text();
    assert.match(master, /version=2/);
    const record = await video.state(t.defaultSourceId, '/lost.mp4');
    assert.equal(record?.version, 2);
    assert.equal(record?.encodes, 2);
    assert.equal((await fetch(new URL(variants(master)[0]!.uri, `${t.renderUrl}/lost.mp4`))).status, 200);
  });

  it('signed Sources sign the URLs in their playlists', async () => {
    const response = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'sources', id: t.defaultSourceId, attributes: { deployment: { secure_url_enabled: true } } } }),
    });
    assert.equal(response.status, 200);
    const token = ((await response.json()) as any).data.attributes.secure_url_token as string;
    try {
      assert.equal((await fetch(`${t.renderUrl}/clip.mp4?fm=hls`)).status, 403);
      const { sign } = await import('../../src/auth/url-signing.ts');
      const masterUrl = `${t.renderUrl}/clip.mp4?fm=hls&s=${sign(token, '/clip.mp4', 'fm=hls')}`;
      const master = await (await untilProcessed(masterUrl)).text();
      const variantUrl = new URL(variants(master)[0]!.uri, masterUrl);
      assert.match(variantUrl.search, /&s=[0-9a-f]{32}$/);
      const variant = await fetch(variantUrl);
      assert.equal(variant.status, 200);
      const segment = await fetch(new URL(segmentUris(await variant.text())[0]!, variantUrl));
      assert.equal(segment.status, 200);
      assert.equal(segment.headers.get('content-type'), 'video/mp2t');
    } finally {
      await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'sources', id: t.defaultSourceId, attributes: { deployment: { secure_url_enabled: false } } } }),
      });
    }
  });
});

describe('Video API limits and a missing ffmpeg', { timeout: 300_000 }, () => {
  it('a video over the duration limit is answered 413 with the reason, at the first request', async () => {
    const t = await startPictor({ assets: { 'long.mp4': await makeClip({ width: 160, height: 120, seconds: 3, audio: false }) }, options: { videoMaxDurationSeconds: '2' } });
    try {
      const response = await fetch(`${t.renderUrl}/long.mp4?fm=hls`);
      assert.equal(response.status, 413);
      assert.match(await response.text(), /over the limit of 2 s \(--video-max-duration\)/);
      assert.equal((await t.pictor.video!.state(t.defaultSourceId, '/long.mp4'))?.state, 'error');
    } finally {
      await t.stop();
    }
  });

  it('a file over --max-input-bytes is answered 413', async () => {
    const clip = await makeClip({ width: 160, height: 120, seconds: 2, audio: false });
    const t = await startPictor({ assets: { 'big.mp4': clip }, options: { maxInputBytes: String(clip.length - 1) } });
    try {
      assert.equal((await fetch(`${t.renderUrl}/big.mp4?fm=hls`)).status, 413);
    } finally {
      await t.stop();
    }
  });

  it('without a working ffmpeg, video requests answer 501 saying how to fix it; images and pass-through are unaffected', async () => {
    const clip = await makeClip({ width: 160, height: 120, seconds: 1, audio: false });
    const t = await startPictor({ assets: { 'clip.mp4': clip, 'photo.jpg': await solidImage(40, 30, [200, 10, 10]) }, options: { ffmpegPath: '/nonexistent/ffmpeg' } });
    try {
      const response = await fetch(`${t.renderUrl}/clip.mp4?fm=hls`);
      assert.equal(response.status, 501);
      const message = await response.text();
      assert.match(message, /\/nonexistent\/ffmpeg/);
      assert.match(message, /--ffmpeg/);
      assert.equal((await fetch(`${t.renderUrl}/clip.mp4?video-generate=thumbnail`)).status, 501);
      assert.equal((await fetch(`${t.renderUrl}/photo.jpg?w=20&fm=png`)).status, 200);
      const passed = await fetch(`${t.renderUrl}/clip.mp4`);
      assert.equal(passed.status, 200);
      assert.deepEqual(Buffer.from(await passed.arrayBuffer()), clip);
    } finally {
      await t.stop();
    }
  });
});
