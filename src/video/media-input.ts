import { PictorError } from '../errors.ts';

/**
 * What ffmpeg and ffprobe may read. Security invariant: every run reads only the bytes Pictor hands it — the
 * asset's own file, or Pictor's own outputs — and never a file, device or address those bytes name. A
 * playlist (HLS, DASH), a concat list, an image sequence or an SDP file is not a video but a list of other
 * inputs: read as one, a file uploaded with an `.mp4` name would make ffmpeg encode any file the server can
 * read, outside every folder root and past every takedown. Three locks, on every run (runTool takes
 * inputs only as MediaInput, and refuses a bare `-i`):
 *
 * - the protocol whitelist: `file` for a file, `pipe` for stdin; nothing else (no http, tcp, rtp, concat:…);
 * - the demuxer whitelist: plain media containers only (CONTAINERS): a file detected as anything else is
 *   refused before its header is read, so nothing it names is opened;
 * - the demuxer found by the probe is forced (`-f`) on every later run, so nothing is detected differently
 *   there; a MOV/MP4 is read with `-enable_drefs 0`, so its data references never open another file. (That
 *   is also ffmpeg's default, which the probe relies on: ffmpeg.ts checks it at start.)
 */

/** Demuxers accepted, by ffmpeg's short name, with the name a person knows them by. */
const CONTAINERS = {
  mov: 'MP4/MOV',
  matroska: 'Matroska/WebM',
  avi: 'AVI',
  mpegts: 'MPEG-TS',
  mpeg: 'MPEG-PS',
  flv: 'FLV',
  ogg: 'Ogg',
} as const;

export type Demuxer = keyof typeof CONTAINERS;

const FORMAT_WHITELIST = Object.keys(CONTAINERS).join(',');

/** An input for one run: a file (its demuxer unknown only for the probe, which detects it) or stdin. */
export type MediaInput = { file: string; demuxer?: Demuxer } | { stdin: true; demuxer: Demuxer };

/** An argument of a run: a string, or an input (expanded by inputArgs). */
export type ToolArg = string | MediaInput;

/** The input options and `-i`: the only way an input reaches ffmpeg or ffprobe (toolArgv refuses a bare `-i`). */
function inputArgs(input: MediaInput): string[] {
  const args = ['-protocol_whitelist', 'file' in input ? 'file' : 'pipe', '-format_whitelist', FORMAT_WHITELIST];
  if (input.demuxer !== undefined) args.push('-f', input.demuxer);
  if (input.demuxer === 'mov') args.push('-enable_drefs', '0');
  // `file:` makes the path a path: a name with a colon is never taken for another protocol.
  return [...args, '-i', 'file' in input ? `file:${input.file}` : 'pipe:0'];
}

/**
 * The demuxer of a format ffprobe detected (`format_name`, such as `mov,mp4,m4a,3gp,3g2,mj2` or
 * `matroska,webm`); anything else is refused, naming what it is.
 */
export function demuxerOf(formatName: string): Demuxer {
  const names = formatName.split(',');
  const demuxer = (Object.keys(CONTAINERS) as Demuxer[]).find((name) => names.includes(name));
  if (demuxer === undefined) throw notAContainer(formatName);
  return demuxer;
}

/**
 * The format ffmpeg detected and then refused as not on the whitelist: its log line names it as the context
 * (`[hls,applehttp @ 0x…] Format not on whitelist '…'`). Undefined when the run failed for another reason.
 */
export function refusedFormat(stderr: string): string | undefined {
  return /^\[([^\]\s@]+) @ 0x[0-9a-f]+\] Format not on whitelist/m.exec(stderr)?.[1];
}

export function notAContainer(formatName: string): PictorError {
  const accepted = Object.values(CONTAINERS).join(', ');
  return new PictorError(
    'UNSUPPORTED_VIDEO',
    `The file is not a video container the Video API reads: it was detected as "${formatName}". A playlist or a list of other files ` +
      `(HLS, DASH, concat, an image sequence…) is never followed; the accepted containers are ${accepted}.`,
  );
}

/** A run's arguments with each input expanded by inputArgs; a bare `-i` (an input given another way) is refused. */
export function toolArgv(args: readonly ToolArg[]): string[] {
  return args.flatMap((arg) => {
    if (typeof arg !== 'string') return inputArgs(arg);
    if (arg === '-i') throw new Error('an ffmpeg input is given as a MediaInput, never as a bare -i (media-input.ts)');
    return [arg];
  });
}
