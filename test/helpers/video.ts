import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The ffmpeg and ffprobe a fresh `npm install` gives (the ones Pictor uses by default). */
export const FFMPEG: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
export const FFPROBE: string = (require('ffprobe-static') as { path: string }).path;

/**
 * A test clip made by ffmpeg's lavfi sources (a test pattern with a running timer, and a tone), H.264/AAC in
 * MP4: never downloaded. `colour` makes a clip whose bytes differ from another of the same size.
 */
export async function makeClip(options: { width: number; height: number; seconds: number; audio?: boolean; rate?: number; pattern?: string }): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-clip-'));
  const file = path.join(dir, 'clip.mp4');
  const { width, height, seconds, audio = true, rate = 25, pattern = 'testsrc2' } = options;
  const args = ['-nostdin', '-y', '-loglevel', 'error', '-f', 'lavfi', '-i', `${pattern}=size=${width}x${height}:rate=${rate}:duration=${seconds}`];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(rate * 2));
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k', '-shortest');
  args.push('-movflags', '+faststart', file);
  try {
    await run(FFMPEG, args);
    return await fs.readFile(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** ffprobe's view of a file's first video stream and its duration. */
export async function probe(body: Buffer, suffix = '.mp4'): Promise<{ width: number; height: number; duration: number; codec: string; streams: string[] }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-probe-'));
  const file = path.join(dir, `file${suffix}`);
  try {
    await fs.writeFile(file, body);
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
    const parsed = JSON.parse(stdout) as { streams: Record<string, unknown>[]; format: Record<string, unknown> };
    const video = parsed.streams.find((stream) => stream.codec_type === 'video')!;
    return {
      width: Number(video.width),
      height: Number(video.height),
      duration: Number(parsed.format.duration),
      codec: String(video.codec_name),
      streams: parsed.streams.map((stream) => String(stream.codec_type)),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** GETs until the answer is no longer 423 (processing), for at most `timeoutMs`. */
export async function untilProcessed(url: string, init: RequestInit = {}, timeoutMs = 180_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const response = await fetch(url, init);
    if (response.status !== 423) return response;
    await response.arrayBuffer();
    if (Date.now() > deadline) throw new Error(`${url} still processing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An HLS playlist naming one media file (a path or a `file://` URL): what a file named `.mp4` may hold. */
export function hlsPlaylist(uri: string): string {
  return `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4.0,\n${uri}\n#EXT-X-ENDLIST\n`;
}

/** An ffconcat list naming one media file. */
export function ffconcatList(file: string): string {
  return `ffconcat version 1.0\nfile '${file}'\n`;
}

/**
 * A Matroska video of `seconds` (a test pattern at `rate` frames a second, no audio) whose header claims
 * `claimedSeconds`: the Segment Info's Duration (EBML id 0x4489, an 8-byte float in milliseconds) is
 * rewritten. Every frame is still there, with its true timestamp.
 */
export async function makeLyingClip(options: {
  width: number;
  height: number;
  seconds: number;
  claimedSeconds: number;
  rate?: number;
}): Promise<Buffer> {
  const { width, height, seconds, claimedSeconds, rate = 1 } = options;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-clip-'));
  const file = path.join(dir, 'clip.mkv');
  try {
    await run(FFMPEG, [
      '-nostdin', '-y', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${rate}:duration=${seconds}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'matroska', file,
    ]);
    const body = await fs.readFile(file);
    const at = body.indexOf(Buffer.from([0x44, 0x89, 0x88]));
    if (at === -1 || body.readDoubleBE(at + 3) !== seconds * 1000) throw new Error(`no Duration of ${seconds} s found in the Matroska header`);
    body.writeDoubleBE(claimedSeconds * 1000, at + 3);
    return body;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A short media file in the container its name's extension picks, made by ffmpeg from lavfi sources (a test
 * pattern, a tone): `video` files carry a picture, `audio` files a tone, `image` files one frame. `args` are
 * the codec and muxer options written before the output.
 */
export async function makeMedia(name: string, kind: 'video' | 'audio' | 'image', args: string[] = []): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-media-'));
  const file = path.join(dir, name);
  const source = kind === 'audio' ? 'sine=frequency=440:sample_rate=44100:duration=0.3' : 'testsrc2=size=64x48:rate=10:duration=0.5';
  const frames = kind === 'image' ? ['-frames:v', '1'] : [];
  try {
    await run(FFMPEG, ['-nostdin', '-y', '-loglevel', 'error', '-f', 'lavfi', '-i', source, ...frames, ...args, file]);
    return await fs.readFile(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
