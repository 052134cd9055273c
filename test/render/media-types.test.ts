import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { describeBytes, detectMedia, passThroughType } from '../../src/render/media-types.ts';
import { makeMedia } from '../helpers/video.ts';
import { twoPagePdf } from './pdf-fixtures.ts';

/** Files ffmpeg writes, by name: [kind, codec and muxer options, the type their bytes must be recognised as]. */
const FFMPEG_FILES: [string, 'video' | 'audio' | 'image', string[], string][] = [
  ['clip.mp4', 'video', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'], 'video/mp4'],
  ['clip.mov', 'video', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'], 'video/quicktime'],
  ['clip.3gp', 'video', ['-c:v', 'h263', '-s', '128x96'], 'video/3gpp'],
  ['clip.webm', 'video', ['-c:v', 'libvpx'], 'video/webm'],
  ['clip.mkv', 'video', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'], 'video/x-matroska'],
  ['clip.avi', 'video', ['-c:v', 'mpeg4'], 'video/x-msvideo'],
  ['clip.ts', 'video', ['-c:v', 'mpeg2video'], 'video/mp2t'],
  ['clip.mpg', 'video', ['-c:v', 'mpeg2video', '-f', 'vob'], 'video/mpeg'],
  ['clip.ogv', 'video', ['-c:v', 'libtheora'], 'video/ogg'],
  ['tone.mp3', 'audio', ['-c:a', 'libmp3lame'], 'audio/mpeg'],
  ['bare.mp3', 'audio', ['-c:a', 'libmp3lame', '-id3v2_version', '0', '-write_xing', '0'], 'audio/mpeg'],
  ['tone.m4a', 'audio', ['-c:a', 'aac', '-f', 'ipod'], 'audio/mp4'],
  ['tone.aac', 'audio', ['-c:a', 'aac', '-f', 'adts'], 'audio/aac'],
  ['tone.wav', 'audio', ['-c:a', 'pcm_s16le'], 'audio/wav'],
  ['tone.flac', 'audio', ['-c:a', 'flac'], 'audio/flac'],
  ['tone.ogg', 'audio', ['-c:a', 'libvorbis'], 'audio/ogg'],
  ['tone.opus', 'audio', ['-c:a', 'libopus'], 'audio/ogg'],
  ['tone.aiff', 'audio', ['-c:a', 'pcm_s16be'], 'audio/aiff'],
  ['tone.weba', 'audio', ['-c:a', 'libopus', '-f', 'webm'], 'video/webm'],
  ['icon.ico', 'image', ['-c:v', 'bmp', '-pix_fmt', 'bgra', '-f', 'ico'], 'image/x-icon'],
  ['frame.bmp', 'image', ['-c:v', 'bmp'], 'image/bmp'],
];

describe('media by their bytes', () => {
  const made = new Map<string, Buffer>();
  before(async () => {
    for (const [name, kind, args] of FFMPEG_FILES) made.set(name, await makeMedia(name, kind, args));
  });

  it('recognises every container ffmpeg writes here, whatever the file is named', () => {
    for (const [name, , , contentType] of FFMPEG_FILES) {
      assert.equal(detectMedia(made.get(name)!)?.contentType, contentType, name);
    }
  });

  it('recognises the images sharp renders, SVG and PDF, and headers of HEIF, JPEG XL and JPEG 2000', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123' } }).png().toBuffer();
    assert.equal(detectMedia(png)?.contentType, 'image/png');
    assert.equal(detectMedia(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'))?.contentType, 'image/svg+xml');
    assert.equal(detectMedia(twoPagePdf())?.contentType, 'application/pdf');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    assert.equal(detectMedia(heic)?.contentType, 'image/heic');
    assert.equal(detectMedia(Buffer.from('\0\0\0\x0cJXL \r\n\x87\n\0\0\0\x14ftypjxl ', 'latin1'))?.contentType, 'image/jxl');
    assert.equal(detectMedia(Buffer.from('\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14ftypjp2 ', 'latin1'))?.contentType, 'image/jp2');
  });

  it('recognises no page, script, stylesheet, data or text, and no text that merely starts like a media file', () => {
    const notMedia = [
      '<!doctype html><html><script>alert(1)</script></html>',
      '<script>alert(document.domain)</script>',
      'alert(1);\n',
      'body { background: red }\n',
      '{"a": 1}',
      '<?xml version="1.0"?><rss><channel/></rss>',
      'plain text\n',
      "I'm free to write text",
      'BM is a text too, not a bitmap at all',
      'OggS? no, a sentence',
      'fLaC, ID3 and RIFF are words too',
      'ID3 tags explained',
      '',
    ];
    for (const text of notMedia) assert.equal(detectMedia(Buffer.from(text)), undefined, text);
    assert.equal(detectMedia(Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c])), undefined);
  });

  it('keeps an origin\'s type only when it names the same container as the bytes', () => {
    const webm = made.get('clip.webm')!;
    assert.equal(passThroughType(webm, 'audio/webm'), 'audio/webm');
    assert.equal(passThroughType(webm, 'text/html; charset=utf-8'), 'video/webm');
    assert.equal(passThroughType(made.get('clip.mp4')!, 'Audio/MP4; codecs="mp4a.40.2"'), 'audio/mp4');
    assert.equal(passThroughType(made.get('tone.wav')!, 'application/octet-stream'), 'audio/wav');
    assert.equal(passThroughType(Buffer.from('<html><script>alert(1)</script>'), 'image/png'), undefined);
  });

  it('says what bytes that are not media look like', () => {
    assert.equal(describeBytes(Buffer.from('<!DOCTYPE html><title>x</title>')), 'an HTML document');
    assert.equal(describeBytes(Buffer.from('\uFEFF  <div><script src=x></script></div>')), 'an HTML document');
    assert.equal(describeBytes(Buffer.from('<?xml version="1.0"?><feed/>')), 'an XML document');
    assert.equal(describeBytes(Buffer.from('[1, 2, 3]')), 'JSON');
    assert.equal(describeBytes(Buffer.from('console.log("hi")')), 'text');
    assert.equal(describeBytes(Buffer.from('PK\x03\x04rest of a zip', 'latin1')), 'a ZIP archive');
    assert.equal(describeBytes(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00])), 'unrecognised binary data');
    assert.equal(describeBytes(Buffer.alloc(0)), 'empty');
  });
});
