/**
 * The allocators' settings for `pictor serve`: the C allocator's on glibc (most Linux distributions), and the
 * size of V8's young generation everywhere.
 *
 * glibc's malloc raises its mmap threshold to the size of the largest block freed so far (up to 32 MiB).
 * After a few large images, every image buffer below that size comes from the threads' heap arenas
 * instead of its own mapping, and stays in the arena when freed: the process keeps hundreds of MB it no
 * longer uses. A fixed threshold keeps large buffers in their own mappings, returned to the system when freed.
 *
 * V8 grows its young generation (two semi-spaces) up to 16 MiB each under a burst of allocation, such as a
 * server's start-up, and keeps them resident. A request's own JavaScript objects are small (image bytes live
 * outside the JavaScript heap), so 8 MiB each serve as well: the server's resident memory, idle and at its
 * peak, is lower by about the difference (BENCHMARKS.md, scenario 7), at no measured cost to cache hits.
 * Render processes run with the server's setting (render/isolated-renderer.ts).
 *
 * Both are read once, when the process starts, so `pictor serve` started without them starts again with
 * them: in place where Node can replace the running program (process.execve), else as a child process that
 * this one waits for and passes signals to. Nothing changes for other commands, and a setting the operator
 * gives is kept: the threshold or any glibc malloc tunable in the environment, the semi-space size among
 * Node's options or in NODE_OPTIONS. The threshold is left alone on other C libraries.
 */
import { spawn } from 'node:child_process';

const SETTING = 'MALLOC_MMAP_THRESHOLD_';
const THRESHOLD = String(1024 * 1024);
const SEMI_SPACE_OPTION = '--max-semi-space-size';
const SEMI_SPACE_MIB = 8;
/** Node accepts V8's options with dashes or underscores. */
const SEMI_SPACE_GIVEN = /^--max[-_]semi[-_]space[-_]size/;
/** Marks the child started below (and only it), whose IPC channel is the launcher's. */
const LAUNCHED = 'PICTOR_LAUNCHED_BY';

/**
 * Restarts `pictor serve` with the allocators' settings when one is missing. Returns true when this process must
 * not run the command itself (a child runs it; this process exits with it).
 */
export function restartWithAllocatorSettings() {
  watchSupervisor();
  if (process.argv[2] !== 'serve') return false;
  const threshold = needsThreshold();
  const semiSpace = needsSemiSpace();
  if (!threshold && !semiSpace) return false;
  const env = threshold ? { ...process.env, [SETTING]: THRESHOLD } : { ...process.env };
  const argv = [...process.execArgv, ...(semiSpace ? [`${SEMI_SPACE_OPTION}=${SEMI_SPACE_MIB}`] : []), ...process.argv.slice(1)];
  if (typeof process.execve === 'function') {
    try {
      process.execve(process.execPath, [process.execPath, ...argv], env); // does not return
    } catch {
      // The exec failed and this process is unchanged: fall through to a child.
    }
  }
  const child = spawn(process.execPath, argv, { env: { ...env, [LAUNCHED]: String(process.pid) }, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  // A terminal's Ctrl-C reaches both processes; a signal sent to this one only (a service manager's
  // SIGTERM) is passed on. `serve` stops gracefully once, however many it receives.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
  return true;
}

function needsSemiSpace() {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !given.some((option) => SEMI_SPACE_GIVEN.test(option));
}

function needsThreshold() {
  if (process.platform !== 'linux' || process.env[SETTING] !== undefined) return false;
  if (process.env.GLIBC_TUNABLES?.includes('glibc.malloc.')) return false;
  return Boolean(process.report?.getReport().header.glibcVersionRuntime);
}

/** In the child: if the launcher goes away (even killed with SIGKILL), its channel closes: stop gracefully. */
function watchSupervisor() {
  if (process.env[LAUNCHED] === undefined || !process.channel) return;
  delete process.env[LAUNCHED];
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
