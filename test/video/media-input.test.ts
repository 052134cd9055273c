import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { openStores } from '../../src/store/open-stores.ts';
import { checkVideoTools } from '../../src/video/ffmpeg.ts';
import type { VideoProbe } from '../../src/video/probe.ts';
import { VideoFiles } from '../../src/video/video-files.ts';
import { apiCaller, createKey } from '../assets/client.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { FFMPEG, FFPROBE, ffconcatList, hlsPlaylist, makeClip, untilProcessed } from '../helpers/video.ts';

const run = promisify(execFile);

/** Every way a video is asked for: each must be refused for a file that is not a plain media container. */
const OUTPUTS = ['fm=json', 'video-generate=thumbnail', 'fm=hls', 'fm=mp4', 'video-generate=gif'];

/**
 * ffmpeg reads only the bytes of the asset: a file named `.mp4` whose bytes are a playlist or a list of other
 * files (HLS, ffconcat) is refused as what it is, and the file it names is never read, even when that file is
 * outside every folder root or taken down.
 */
describe('Video API inputs: only the asset\'s own bytes are read', { timeout: 600_000 }, () => {
  let t: TestPictor;
  let outside: string;
  let privateVideo: string;

  before(async () => {
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-outside-'));
    privateVideo = path.join(outside, 'private.mp4');
    await fs.writeFile(privateVideo, await makeClip({ width: 96, height: 48, seconds: 2, audio: false }));
    t = await startPictor({
      assets: {
        'playlist-path.mp4': hlsPlaylist(privateVideo),
        'playlist-url.mp4': hlsPlaylist(`file://${privateVideo}`),
        'list.mp4': ffconcatList(privateVideo),
        'list-url.mp4': ffconcatList(`file:${privateVideo}`),
        'fifo-playlist.mp4': hlsPlaylist(path.join(outside, 'fifo.mp4')),
        'taken.mp4': await makeClip({ width: 160, height: 96, seconds: 2, audio: false }),
      },
    });
  });
  after(async () => {
    await t?.stop();
    await fs.rm(outside, { recursive: true, force: true });
  });

  /** Every output of the asset is 422 naming the format; nothing was written for it, nothing is left in tmp/. */
  async function assertRefused(assetPath: string, format: RegExp): Promise<void> {
    for (const output of OUTPUTS) {
      const response = await untilProcessed(`${t.renderUrl}${assetPath}?${output}`);
      const message = await response.text();
      assert.equal(response.status, 422, `${assetPath}?${output}: ${message}`);
      assert.match(message, format, `${assetPath}?${output}`);
      assert.doesNotMatch(message, new RegExp(outside), 'the path the file names is not repeated');
    }
    const state = await t.pictor.video!.state(t.defaultSourceId, assetPath);
    assert.deepEqual([state?.state, state?.errorCode], ['error', 'UNSUPPORTED_VIDEO']);
    const files = new VideoFiles(t.dataDir);
    await assert.rejects(fs.access(files.assetDir(t.defaultSourceId, assetPath)), 'no output of the file was written');
    assert.deepEqual(await fs.readdir(path.join(files.root, 'tmp')), []);
  }

  it('an .mp4 whose bytes are an HLS playlist naming a video outside the folder root is 422 naming hls, for every output', async () => {
    await assertRefused('/playlist-path.mp4', /detected as "hls[^"]*"/);
    await assertRefused('/playlist-url.mp4', /detected as "hls[^"]*"/);
  });

  it('an .mp4 whose bytes are an ffconcat list is 422 naming concat, for every output', async () => {
    await assertRefused('/list.mp4', /detected as "concat"/);
    await assertRefused('/list-url.mp4', /detected as "concat"/);
  });

  it('the file a playlist names is never opened', async () => {
    // A FIFO: opening it for writing completes only once something opens it for reading.
    const fifo = path.join(outside, 'fifo.mp4');
    await run('mkfifo', [fifo]);
    let opened = false;
    const writer = fs.open(fifo, 'w').then(async (handle) => {
      opened = true;
      await handle.close();
    });
    try {
      const response = await untilProcessed(`${t.renderUrl}/fifo-playlist.mp4?fm=json`);
      // Had ffprobe opened the FIFO, it could not have finished before the writer's open completed.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(opened, false, 'the file the playlist names was opened');
      assert.equal(response.status, 422);
      assert.match(await response.text(), /detected as "hls[^"]*"/);
    } finally {
      // Releases the pending open: a reader that does not wait for a writer.
      const reader = await fs.open(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      await writer;
      await reader.close();
    }
  });

  it('a playlist uploaded through the Assets API with an assets-edit key is refused at the upload, and nothing is written', async () => {
    const key = await createKey(t, ['assets-edit']);
    const uploadPath = `/api/v1/sources/${t.defaultSourceId}/upload/uploads/holiday.mp4`;
    const upload = await apiCaller(t)('POST', uploadPath, key, Buffer.from(hlsPlaylist(privateVideo)), { 'content-type': 'video/mp4' });
    assert.equal(upload.status, 415, JSON.stringify(upload.body));
    await assert.rejects(fs.access(path.join(t.assetsDir, 'uploads/holiday.mp4')));
  });

  it('a playlist naming a taken-down video is 422, never that video\'s frames', async () => {
    const created = await apiCaller(t)('POST', '/api/v1/takedowns', t.apiKey, {
      data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/taken.mp4`, reason: 'legal notice 7' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await fetch(`${t.renderUrl}/taken.mp4?video-generate=thumbnail`)).status, 451);
    await t.put('names-taken.mp4', hlsPlaylist(path.join(t.assetsDir, 'taken.mp4')));
    await assertRefused('/names-taken.mp4', /detected as "hls[^"]*"/);
  });

  it('outputs an earlier version made from a playlist are deleted, and the video answered 422', async () => {
    await t.put('legacy.mp4', await makeClip({ width: 64, height: 48, seconds: 1, audio: false }));
    assert.equal((await untilProcessed(`${t.renderUrl}/legacy.mp4?fm=hls`)).status, 200);
    // What an earlier version recorded for a playlist: a processed version, its probe naming the hls demuxer.
    const files = new VideoFiles(t.dataDir);
    const stores = await openStores({ dataDir: t.dataDir });
    try {
      const videos = stores.videos;
      const processed = (await videos.get(t.defaultSourceId, '/legacy.mp4'))!;
      const probe = processed.probe as VideoProbe;
      const playlistProbe = { ...probe, raw: { ...probe.raw, format: { ...probe.raw.format, format_name: 'hls,applehttp' } } };
      const legacy = await videos.startVersion(t.defaultSourceId, '/legacy.mp4', processed.origin, playlistProbe, Date.now());
      const versionDir = (version: number) => files.versionDir(t.defaultSourceId, '/legacy.mp4', version);
      await fs.cp(versionDir(processed.version), versionDir(legacy.version), { recursive: true });
      assert.equal(await videos.markProcessed(t.defaultSourceId, '/legacy.mp4', legacy.version, Date.now()), true);
    } finally {
      await stores.close();
    }
    await assertRefused('/legacy.mp4', /detected as "hls,applehttp"/);
  });

  it('plain containers are still read: MP4, and Matroska under an .mp4 name', async () => {
    const clip = await makeClip({ width: 64, height: 48, seconds: 1, audio: false });
    await t.put('plain.mp4', clip);
    const mkv = path.join(outside, 'as-mkv');
    await fs.mkdir(mkv);
    await fs.writeFile(path.join(mkv, 'in.mp4'), clip);
    await run(FFMPEG, ['-nostdin', '-loglevel', 'error', '-i', path.join(mkv, 'in.mp4'), '-c', 'copy', '-f', 'matroska', path.join(mkv, 'out.mkv')]);
    await t.put('matroska.mp4', await fs.readFile(path.join(mkv, 'out.mkv')));
    for (const name of ['plain.mp4', 'matroska.mp4']) {
      assert.equal((await untilProcessed(`${t.renderUrl}/${name}?fm=hls`)).status, 200, name);
      assert.equal((await fetch(`${t.renderUrl}/${name}?video-generate=thumbnail`)).status, 200, name);
      assert.equal((await fetch(`${t.renderUrl}/${name}?fm=mp4`)).status, 200, name);
    }
    const json = (await (await fetch(`${t.renderUrl}/matroska.mp4?fm=json`)).json()) as { format: { format_name: string } };
    assert.equal(json.format.format_name, 'matroska,webm');
  });
});

describe('the ffprobe used must leave MOV data references closed', () => {
  it('an ffprobe whose MOV demuxer opens external references by default turns the Video API off, saying why', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-ffprobe-'));
    try {
      // The real ffprobe, but its MOV demuxer's help says references are opened by default.
      const wrapper = path.join(dir, 'ffprobe');
      const script = `#!/bin/sh\nif [ "$3" = "demuxer=mov" ]; then "${FFPROBE}" "$@" | sed 's/(default false)/(default true)/'; exit 0; fi\nexec "${FFPROBE}" "$@"\n`;
      await fs.writeFile(wrapper, script, { mode: 0o755 });
      const check = await checkVideoTools({ ffmpeg: FFMPEG, ffprobe: wrapper });
      assert.equal(check.ok, false);
      assert.match(check.ok ? '' : check.problem, /opens the files a MOV\/MP4 file refers to/);
      assert.equal((await checkVideoTools({ ffmpeg: FFMPEG, ffprobe: FFPROBE })).ok, true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
