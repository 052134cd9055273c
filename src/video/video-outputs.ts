import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PictorError } from '../errors.ts';
import type { VideoTools } from './ffmpeg.ts';
import { parseVariant, rungForResolution, segmentFile, type LadderInfo, type Rung } from './ladder.ts';
import type { MediaInput, ToolArg } from './media-input.ts';
import type { Limiter } from './queue.ts';
import { failureLine, runTool, ToolError } from './run.ts';
import type { VideoFiles } from './video-files.ts';
import { readAll, type VideoStorage } from './video-storage.ts';

/** Storyboard tiles: imgix's width; the height follows the video's proportions. */
const TILE_WIDTH = 232;
const STORYBOARD_MAX_TILES = 100;
const STORYBOARD_COLUMNS = 10;
const GIF_MAX_WIDTH = 480;
const OUTPUT_TIMEOUT_MS = 120_000;

export interface StoryboardLayout {
  /** Seconds between tiles. */
  interval: number;
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/**
 * Outputs made from an encoded version when first asked for, then kept with it in the video store (`out/`):
 * the MP4 of a rendition (a remux of its segments, no new encode), frames, GIFs and storyboards (from the top
 * rendition). Each is made once per node however many requests ask at the same time, through a Limiter, at
 * low priority, on this node's disk, then stored. Inputs are only Pictor's own files, read with the demuxer
 * they were written with (media-input.ts): the segments as one MPEG-TS stream on stdin (never through a
 * playlist), the MP4s as MP4.
 */
export class VideoOutputs {
  private readonly building = new Map<string, Promise<string>>();

  constructor(
    private readonly tools: VideoTools,
    private readonly files: VideoFiles,
    private readonly storage: VideoStorage,
    private readonly limiter: Limiter,
    private readonly signal: AbortSignal,
  ) {}

  /** The key of the MP4 of one rendition: its segments, in order, are one MPEG-TS stream (they were cut from one). */
  mp4(prefix: string, rung: Rung): Promise<string> {
    return this.ensure(prefix, `${rung.name}.mp4`, async (output) => {
      const segments = await this.segments(prefix, rung);
      const input = { stdin: true, demuxer: 'mpegts' } as const;
      const args = [input, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', '-f', 'mp4', output];
      await this.ffmpeg(args, Readable.from(this.concatenated(segments)));
    });
  }

  /** The key of one frame as PNG, at `seconds` (clamped into the video), for the image pipeline. */
  async frame(prefix: string, ladder: LadderInfo, seconds: number): Promise<string> {
    const at = Math.round(Math.min(Math.max(seconds, 0), Math.max(0, ladder.durationSeconds - 0.1)) * 10) / 10;
    const top = await this.mp4(prefix, rungForResolution(ladder.rungs, 'high'));
    return this.ensure(prefix, `frame-${Math.round(at * 1000)}.png`, (output) =>
      this.withLocal(top, async (source) => {
        await this.ffmpeg(['-ss', String(at), source, '-frames:v', '1', '-f', 'image2', '-c:v', 'png', output]);
        // A seek onto the very last frame can yield none: take the last frame there is.
        if (!(await nonEmpty(output))) await this.ffmpeg(['-sseof', '-1', source, '-update', '1', '-f', 'image2', '-c:v', 'png', output]);
      }),
    );
  }

  /** A looping GIF from `start` to `end` seconds, with a palette made for it. */
  async gif(prefix: string, ladder: LadderInfo, start: number, end: number, fps: number): Promise<string> {
    const top = await this.mp4(prefix, rungForResolution(ladder.rungs, 'high'));
    const width = Math.min(GIF_MAX_WIDTH, ladder.rungs.reduce((widest, rung) => Math.max(widest, rung.width), 0));
    const name = `gif-${Math.round(start * 100)}-${Math.round(end * 100)}-${fps}.gif`;
    return this.ensure(prefix, name, (output) =>
      this.withLocal(top, (source) =>
        this.ffmpeg([
          '-ss', String(start), '-t', String(end - start), source,
          '-filter_complex', `fps=${fps},scale=${width}:-2:flags=lanczos,split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5`,
          '-loop', '0', '-f', 'gif', output,
        ]),
      ),
    );
  }

  /** The storyboard sprite (tiles in rows, left to right), as JPEG or PNG. */
  async storyboard(prefix: string, ladder: LadderInfo, format: 'jpg' | 'png'): Promise<string> {
    const top = await this.mp4(prefix, rungForResolution(ladder.rungs, 'high'));
    const layout = storyboardLayout(ladder);
    return this.ensure(prefix, `storyboard.${format}`, (output) =>
      this.withLocal(top, (source) =>
        this.ffmpeg([
          source,
          '-vf', `fps=1/${layout.interval},scale=${layout.tileWidth}:${layout.tileHeight},setsar=1,tile=${layout.columns}x${layout.rows}`,
          '-frames:v', '1', '-f', 'image2', ...(format === 'jpg' ? ['-q:v', '4'] : ['-c:v', 'png']), output,
        ]),
      ),
    );
  }

  /** Runs `use` on a local copy of a stored MP4 (ffmpeg seeks in it), deleted afterwards. */
  private async withLocal(key: string, use: (source: MediaInput) => Promise<void>): Promise<void> {
    const file = this.files.tempPath('.mp4');
    try {
      await pipeline(await this.storage.read(key), createWriteStream(file));
      await use({ file, demuxer: 'mov' });
    } finally {
      await this.files.remove(file);
    }
  }

  /** A rendition's segment keys, in playlist order. */
  private async segments(prefix: string, rung: Rung): Promise<string[]> {
    let playlist: string;
    try {
      playlist = (await readAll(this.storage, `${prefix}/${rung.name}/index.m3u8`)).toString('utf8');
    } catch {
      throw replaced(prefix);
    }
    return parseVariant(playlist).map((segment) => `${prefix}/${rung.name}/${segmentFile(segment.index)}`);
  }

  private async *concatenated(keys: readonly string[]): AsyncGenerator<Buffer> {
    for (const key of keys) {
      for await (const chunk of await this.storage.read(key)) yield chunk as Buffer;
    }
  }

  private async ffmpeg(args: ToolArg[], stdin?: Readable): Promise<void> {
    try {
      await runTool(this.tools.ffmpeg, ['-nostdin', '-y', '-loglevel', 'error', ...args], {
        timeoutMs: OUTPUT_TIMEOUT_MS,
        background: true,
        signal: this.signal,
        ...(stdin ? { stdin } : {}),
      });
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      throw new PictorError('UNSUPPORTED_VIDEO', `This output could not be made from the video: ${failureLine(error.stderrTail) || error.message}`);
    }
  }

  /**
   * The key `prefix/out/<name>`, made by `build` into a temporary file first. Once the version's ladder is
   * gone from the store (a newer version replaced it), nothing is stored and the request is told the video
   * is being processed.
   */
  private ensure(prefix: string, name: string, build: (output: string) => Promise<void>): Promise<string> {
    const key = `${prefix}/out/${name}`;
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.make(prefix, key, build).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  private async make(prefix: string, key: string, build: (output: string) => Promise<void>): Promise<string> {
    if (((await this.storage.stat(key))?.size ?? 0) > 0) return key;
    return this.limiter.run(async () => {
      const temp = this.files.tempPath(path.posix.extname(key));
      try {
        await build(temp);
        if (!(await nonEmpty(temp))) throw new PictorError('UNSUPPORTED_VIDEO', 'This output could not be made from the video: ffmpeg wrote nothing.');
        if (!(await this.storage.stat(`${prefix}/ladder.json`))) throw replaced(prefix);
        await this.storage.put(key, temp);
        return key;
      } finally {
        await this.files.remove(temp);
      }
    });
  }
}

export function storyboardLayout(ladder: LadderInfo): StoryboardLayout {
  const top = rungForResolution(ladder.rungs, 'high');
  const interval = Math.max(1, Math.ceil(ladder.durationSeconds / STORYBOARD_MAX_TILES));
  // A tile per interval; a stream a few frames longer than the video (audio padding) adds none.
  const count = Math.max(1, Math.ceil((ladder.durationSeconds - 0.25) / interval));
  const columns = Math.min(STORYBOARD_COLUMNS, count);
  const tileHeight = 2 * Math.round((TILE_WIDTH * top.height) / top.width / 2);
  return { interval, count, columns, rows: Math.ceil(count / columns), tileWidth: TILE_WIDTH, tileHeight };
}

function replaced(prefix: string): PictorError {
  const version = path.posix.basename(prefix);
  return new PictorError('VIDEO_PROCESSING', `A newer version of this video is being processed (${version} was replaced); try again shortly.`, {
    headers: { 'retry-after': '5' },
  });
}

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).size > 0;
  } catch {
    return false;
  }
}
