import { createRequire } from 'node:module';
import { runTool, ToolError } from './run.ts';

/** A working ffmpeg and ffprobe, as checked at start. */
export interface VideoTools {
  ffmpeg: string;
  ffprobe: string;
  /** `ffmpeg 4.1 (/path/to/ffmpeg), ffprobe 4.0.2 (/path/to/ffprobe)`, for the start-up report. */
  describe: string;
}

/** Either tools that work, or why the Video API is off (said in every 501, with how to fix it). */
export type ToolsCheck = { ok: true; tools: VideoTools } | { ok: false; problem: string };

const CHECK_TIMEOUT_MS = 15_000;

const FIX = 'Install ffmpeg (with libx264) and pass its path with --ffmpeg / PICTOR_FFMPEG (and --ffprobe / PICTOR_FFPROBE), or run npm install so the bundled binaries are present.';

/**
 * Finds ffmpeg and ffprobe: the paths given (`--ffmpeg`, `--ffprobe`), else the static binaries the npm
 * packages `@ffmpeg-installer/ffmpeg` and `ffprobe-static` ship, so `npm install` alone gives a working
 * Video API. Each is run once (`-version`), ffmpeg must have the H.264 encoder and ffprobe must not open a
 * MOV's external references by default: a binary that does not run, or would, is reported now, not at the
 * first video request.
 */
export async function checkVideoTools(paths: { ffmpeg?: string | undefined; ffprobe?: string | undefined }): Promise<ToolsCheck> {
  const ffmpeg = paths.ffmpeg ?? bundled('@ffmpeg-installer/ffmpeg');
  const ffprobe = paths.ffprobe ?? bundled('ffprobe-static');
  if (ffmpeg === undefined) return { ok: false, problem: `no ffmpeg was given and the bundled one is missing for this platform. ${FIX}` };
  if (ffprobe === undefined) return { ok: false, problem: `no ffprobe was given and the bundled one is missing for this platform. ${FIX}` };
  try {
    const ffmpegVersion = await version(ffmpeg);
    const ffprobeVersion = await version(ffprobe);
    const encoders = await runTool(ffmpeg, ['-hide_banner', '-encoders'], { timeoutMs: CHECK_TIMEOUT_MS, stdoutLimit: 1024 * 1024 });
    if (!/\blibx264\b/.test(encoders.stdout)) return { ok: false, problem: `${ffmpeg} has no H.264 encoder (libx264). ${FIX}` };
    // The probe detects the container, so it cannot pass the MOV demuxer's `-enable_drefs 0` (media-input.ts):
    // it relies on that default, which old builds do not have (they open every reference).
    const mov = await runTool(ffprobe, ['-hide_banner', '-h', 'demuxer=mov'], { timeoutMs: CHECK_TIMEOUT_MS, stdoutLimit: 1024 * 1024 });
    if (!/-enable_drefs\b.*\(default false\)/.test(mov.stdout)) {
      const problem = `${ffprobe} opens the files a MOV/MP4 file refers to (its mov demuxer has no -enable_drefs off by default)`;
      return { ok: false, problem: `${problem}. ${FIX}` };
    }
    return { ok: true, tools: { ffmpeg, ffprobe, describe: `ffmpeg ${ffmpegVersion} (${ffmpeg}), ffprobe ${ffprobeVersion} (${ffprobe})` } };
  } catch (error) {
    const reason = error instanceof ToolError ? error.message : String(error);
    return { ok: false, problem: `${reason}. ${FIX}` };
  }
}

/** `ffmpeg version 4.1-static …` → `4.1-static`; a binary that does not run throws. */
async function version(file: string): Promise<string> {
  const { stdout } = await runTool(file, ['-version'], { timeoutMs: CHECK_TIMEOUT_MS, stdoutLimit: 64 * 1024 });
  const match = /version (\S+)/.exec(stdout);
  if (!match) throw new ToolError(`${file} does not look like ffmpeg or ffprobe (its -version says no version)`, '');
  return match[1]!;
}

/** The binary an npm package ships (`require(name).path`), or undefined when it is not installed for this platform. */
function bundled(name: string): string | undefined {
  try {
    const found = createRequire(import.meta.url)(name) as { path?: unknown };
    return typeof found.path === 'string' ? found.path : undefined;
  } catch {
    return undefined;
  }
}
