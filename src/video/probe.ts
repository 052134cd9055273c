import { PictorError } from '../errors.ts';
import { demuxerOf, notAContainer, refusedFormat, type Demuxer } from './media-input.ts';
import { failureLine, runTool, ToolError } from './run.ts';

/** What processing needs to know about a video, read by ffprobe; `raw` is ffprobe's JSON (`fm=json`). */
export interface VideoProbe {
  durationSeconds: number;
  width: number;
  height: number;
  videoCodec: string;
  hasAudio: boolean;
  /** `format.format_name` names the demuxer every later run reads the file with (demuxerOfProbe). */
  raw: { streams: unknown[]; format: Record<string, unknown> };
}

export interface ProbeLimits {
  maxDurationSeconds: number;
  /** Largest width and height accepted. */
  maxSide: number;
}

const PROBE_TIMEOUT_MS = 30_000;
/** ffprobe's JSON for a file with a handful of streams is a few kB; a file claiming thousands is refused. */
const PROBE_OUTPUT_LIMIT = 1024 * 1024;

/**
 * Reads a video file with ffprobe and checks it against the processing limits. Only a plain media container
 * is read (media-input.ts): a playlist or any other format is UNSUPPORTED_VIDEO (422) naming the format it
 * was detected as, before anything it names is opened. A file ffprobe cannot read (corrupt, truncated, not
 * a video) is UNSUPPORTED_VIDEO with ffprobe's own reason; a video over a limit is VIDEO_TOO_LARGE (413)
 * saying which.
 */
export async function probeVideo(ffprobe: string, file: string, limits: ProbeLimits, signal?: AbortSignal): Promise<VideoProbe> {
  let stdout: string;
  try {
    ({ stdout } = await runTool(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', { file }], {
      timeoutMs: PROBE_TIMEOUT_MS,
      stdoutLimit: PROBE_OUTPUT_LIMIT,
      background: true,
      ...(signal ? { signal } : {}),
    }));
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    const refused = refusedFormat(error.stderrTail);
    if (refused !== undefined) throw notAContainer(refused);
    throw new PictorError('UNSUPPORTED_VIDEO', `The file cannot be read as a video: ${failureLine(error.stderrTail, file) || error.message}`);
  }
  const raw = JSON.parse(stdout) as { streams?: Record<string, unknown>[]; format?: Record<string, unknown> };
  const streams = raw.streams ?? [];
  const format = raw.format ?? {};
  // ffprobe was held to the whitelist; what it reports is checked again before any work depends on it.
  demuxerOf(String(format.format_name ?? ''));
  const video = streams.find((stream) => stream.codec_type === 'video' && (stream.disposition as Record<string, number> | undefined)?.attached_pic !== 1);
  if (!video) throw new PictorError('UNSUPPORTED_VIDEO', 'The file has no video stream.');
  // A phone video stored sideways plays rotated (ffmpeg turns it on decoding): its shown size is swapped.
  const sideways = Math.abs(rotation(video)) % 180 === 90;
  const width = Number(sideways ? video.height : video.width);
  const height = Number(sideways ? video.width : video.height);
  const durationSeconds = Number(format.duration ?? video.duration);
  if (!(width > 0 && height > 0)) throw new PictorError('UNSUPPORTED_VIDEO', 'The video stream has no frame size.');
  if (!(durationSeconds > 0)) throw new PictorError('UNSUPPORTED_VIDEO', 'The video has no duration (a still image, or a broken file).');
  if (durationSeconds > limits.maxDurationSeconds) {
    throw new PictorError('VIDEO_TOO_LARGE', `The video lasts ${Math.round(durationSeconds)} s, over the limit of ${limits.maxDurationSeconds} s (--video-max-duration).`);
  }
  if (width > limits.maxSide || height > limits.maxSide) {
    throw new PictorError('VIDEO_TOO_LARGE', `The video is ${width}×${height}, over the limit of ${limits.maxSide} pixels a side.`);
  }
  return {
    durationSeconds,
    width,
    height,
    videoCodec: String(video.codec_name ?? 'unknown'),
    hasAudio: streams.some((stream) => stream.codec_type === 'audio'),
    raw: { streams, format: withoutFilename(format) },
  };
}

/** The demuxer a probed file is read with from now on. */
export function demuxerOfProbe(probe: Pick<VideoProbe, 'raw'>): Demuxer {
  return demuxerOf(String(probe.raw.format.format_name ?? ''));
}

function rotation(stream: Record<string, unknown>): number {
  const tag = Number((stream.tags as Record<string, string> | undefined)?.rotate ?? 0);
  const matrix = (stream.side_data_list as { rotation?: number }[] | undefined)?.find((data) => typeof data.rotation === 'number');
  return matrix?.rotation ?? (Number.isFinite(tag) ? tag : 0);
}

/** ffprobe names the file it read: a path under the data directory, which is nobody's business. */
function withoutFilename(format: Record<string, unknown>): Record<string, unknown> {
  const { filename: _filename, ...rest } = format;
  return rest;
}
