import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRange } from '../../src/delivery/ranges.ts';
import { ladderFor, masterPlaylist, parseVariant, rungForResolution, variantPlaylist } from '../../src/video/ladder.ts';
import { demuxerOf, refusedFormat, toolArgv } from '../../src/video/media-input.ts';
import { failureLine } from '../../src/video/run.ts';
import { isVideoRequest, parseVideoQuery } from '../../src/video/video-params.ts';

describe('video units', () => {
  it('byte ranges: one range, suffixes, open ends; past the end is unsatisfiable; the rest is ignored', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=900-5000', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined);
    assert.equal(parseRange('items=0-1', 1000), undefined);
    assert.equal(parseRange('bytes=5-1', 1000), undefined);
    assert.equal(parseRange(undefined, 1000), undefined);
  });

  it('the ladder never exceeds the source, keeps its shape, and has at least one rung', () => {
    const names = (width: number, height: number) => ladderFor({ width, height }).map((rung) => `${rung.name} ${rung.width}x${rung.height}`);
    assert.deepEqual(names(1920, 1080), ['1080p 1920x1080', '720p 1280x720', '360p 640x360']);
    assert.deepEqual(names(1280, 720), ['720p 1280x720', '360p 640x360']);
    assert.deepEqual(names(854, 480), ['360p 640x360']);
    assert.deepEqual(names(1080, 1920), ['1080p 1080x1920', '720p 720x1280', '360p 360x640'], 'upright: named by the shorter side');
    assert.deepEqual(names(320, 180), ['180p 320x180']);
    assert.deepEqual(names(4096, 2160), ['1080p 2048x1080', '720p 1366x720', '360p 682x360']);
    const rungs = ladderFor({ width: 1280, height: 720 });
    assert.deepEqual(['high', 'medium', 'low'].map((res) => rungForResolution(rungs, res as 'high').name), ['720p', '720p', '360p']);
    assert.equal(rungForResolution(ladderFor({ width: 320, height: 180 }), 'low').name, '180p');
  });

  it('playlists: the master lists each rendition, highest first; variant segments become URLs', () => {
    const master = masterPlaylist(
      {
        codecs: 'avc1.4d4028,mp4a.40.2',
        durationSeconds: 8,
        rungs: [
          { name: '360p', width: 640, height: 360, lines: 360, videoKbps: 800, bandwidth: 900_000, averageBandwidth: 800_000 },
          { name: '720p', width: 1280, height: 720, lines: 720, videoKbps: 2800, bandwidth: 3_000_000, averageBandwidth: 2_800_000 },
        ],
      },
      (rung) => `./a.mp4?fm=hls&rendition=${rung.name}`,
    );
    assert.equal(
      master,
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS="avc1.4d4028,mp4a.40.2"\n./a.mp4?fm=hls&rendition=720p\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d4028,mp4a.40.2"\n./a.mp4?fm=hls&rendition=360p\n',
    );
    const variant = '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.000000,\nseg_000.ts\n#EXTINF:2.500000,\nseg_001.ts\n#EXT-X-ENDLIST\n';
    assert.deepEqual(parseVariant(variant), [{ index: 0, seconds: 4 }, { index: 1, seconds: 2.5 }]);
    assert.equal(variantPlaylist(variant, (segment) => `s${segment}`), '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.000000,\ns0\n#EXTINF:2.500000,\ns1\n#EXT-X-ENDLIST\n');
  });

  it('video parameters: what goes to the Video API, aliases, ranges, and image parameters for thumbnails', () => {
    assert.equal(isVideoRequest('/a.mp4?fm=hls'), true);
    assert.equal(isVideoRequest('/a.MOV?video-generate=gif'), true);
    assert.equal(isVideoRequest('/a.mkv?vdl'), true);
    assert.equal(isVideoRequest('/a.mp4?video-download=x'), true);
    assert.equal(isVideoRequest('/a.mp4'), false);
    assert.equal(isVideoRequest('/a.mp4?w=100'), false);
    assert.equal(isVideoRequest('/a.jpg?fm=json'), false);
    assert.deepEqual(parseVideoQuery('fm=hls').output, { kind: 'master' });
    assert.deepEqual(parseVideoQuery('fm=hls&rendition=720p&version=3&segment=2').output, { kind: 'segment', rendition: '720p', version: 3, segment: 2 });
    const tiny = parseVideoQuery('fm=hls&rendition=64p&version=1').output;
    assert.deepEqual(tiny, { kind: 'variant', rendition: '64p', version: 1 }, 'a rendition under 100p');
    assert.deepEqual(parseVideoQuery('fm=hls&rendition=2p&version=1').output, { kind: 'variant', rendition: '2p', version: 1 });
    assert.deepEqual(parseVideoQuery('fm=mp4').output, { kind: 'mp4', res: 'high' });
    assert.deepEqual(parseVideoQuery('vdl=holiday').output, { kind: 'mp4', res: 'high' });
    assert.equal(parseVideoQuery('vdl=holiday').download, 'holiday');
    assert.deepEqual(parseVideoQuery('video-generate=gif&video-gif-start=1&video-gif-end=2.5').output, { kind: 'gif', start: 1, end: 2.5, fps: 15 });
    assert.deepEqual(parseVideoQuery('video-generate=thumbnail&w=100&video-thumbnail-time=2&fm=webp&s=abc').output, {
      kind: 'thumbnail',
      time: 2,
      imageQuery: 'w=100&fm=webp',
    });
    assert.equal(parseVideoQuery('fm=hls&expires=2000000000').expires, 2_000_000_000);
    const bads = [
      'fm=mp4&res=ultra', 'video-generate=poster', 'fm=hls&rendition=720p', 'video-generate=gif&video-gif-fps=31',
      'video-generate=gif&video-gif-time-start=-1', 'video-generate=thumbnail&video-thumbnail-time=x', 'fm=hls&rendition=720p&version=1&segment=-1',
      'fm=hls&rendition=064p&version=1', 'fm=hls&rendition=10800p&version=1',
    ];
    for (const bad of bads) {
      assert.throws(() => parseVideoQuery(bad), /INVALID_PARAMETER|must/, bad);
    }
  });

  it('ffmpeg inputs: restricted to files (or stdin) and plain containers, the MOV demuxer without references; a bare -i is refused', () => {
    const whitelist = ['-protocol_whitelist', 'file', '-format_whitelist', 'mov,matroska,avi,mpegts,mpeg,flv,ogg'];
    assert.deepEqual(toolArgv(['-v', 'error', { file: '/d/a:b.mp4' }]), ['-v', 'error', ...whitelist, '-i', 'file:/d/a:b.mp4']);
    const mov = toolArgv(['-ss', '1', { file: '/d/a.mp4', demuxer: 'mov' }, 'out.png']);
    assert.deepEqual(mov, ['-ss', '1', ...whitelist, '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/d/a.mp4', 'out.png']);
    const piped = toolArgv([{ stdin: true, demuxer: 'mpegts' }]);
    assert.deepEqual(piped, ['-protocol_whitelist', 'pipe', ...whitelist.slice(2), '-f', 'mpegts', '-i', 'pipe:0']);
    assert.throws(() => toolArgv(['-i', '/d/a.mp4']), /MediaInput/);
    assert.equal(demuxerOf('mov,mp4,m4a,3gp,3g2,mj2'), 'mov');
    assert.equal(demuxerOf('matroska,webm'), 'matroska');
    for (const refused of ['hls,applehttp', 'hls', 'concat', 'image2', 'dash', 'sdp', 'png_pipe', '']) {
      assert.throws(() => demuxerOf(refused), (error: Error) => error.message.includes(`detected as "${refused}"`), refused);
    }
    assert.equal(refusedFormat("[hls,applehttp @ 0x402375c0] Format not on whitelist 'mov'\nfile:/x.mp4: Invalid argument\n"), 'hls,applehttp');
    assert.equal(refusedFormat('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\n'), undefined);
  });

  it('failure reasons: the line that names the problem, without server paths', () => {
    const stderr = '[h264 @ 0x1234] Invalid NAL unit size\n/srv/data/video/tmp/x.mp4: Invalid data found when processing input\nConversion failed!\n';
    assert.equal(failureLine(stderr, '/srv/data/video/tmp/x.mp4'), 'the file: Invalid data found when processing input');
    assert.equal(failureLine('[mov,mp4 @ 0xabc] moov atom not found\n'), 'moov atom not found');
    assert.equal(failureLine('something else\nlast words\n'), 'last words');
    assert.equal(
      failureLine("Error opening output file '/srv/data/video/assets/ab/v1/out/x.gif': No such file or directory (30000/1001 fps)\n"),
      "Error opening output file 'a file': No such file or directory (30000/1001 fps)",
    );
    const named = failureLine('file:/srv/t/x.mp4: Invalid data found when processing input\n', '/srv/t/x.mp4');
    assert.equal(named, 'the file: Invalid data found when processing input');
  });
});
