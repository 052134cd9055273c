/**
 * The C allocator's setting for `pictor serve` on glibc (most Linux distributions).
 *
 * glibc's malloc raises its mmap threshold to the size of the largest block freed so far (up to 32 MiB).
 * After a few large images, every image buffer below that size comes from the threads' heap arenas
 * instead of its own mapping, and stays in the arena when freed: the process keeps hundreds of MB it no
 * longer uses. A fixed threshold keeps large buffers in their own mappings, returned to the system when freed.
 *
 * glibc reads the setting once, when the process starts, so `pictor serve` started without it starts again
 * with it: in place where Node can replace the running program (process.execve), else as a child process
 * that this one waits for and passes signals to. Nothing changes on other C libraries, for other commands,
 * or when the environment already sets the threshold or any glibc malloc tunable (the operator's choice).
 */
import { spawn } from 'node:child_process';

const SETTING = 'MALLOC_MMAP_THRESHOLD_';
const THRESHOLD = String(1024 * 1024);
/** Marks the child started below (and only it), whose IPC channel is the launcher's. */
const LAUNCHED = 'PICTOR_LAUNCHED_BY';

/**
 * Restarts `pictor serve` with the allocator setting when it is missing. Returns true when this process must
 * not run the command itself (a child runs it; this process exits with it).
 */
export function restartWithAllocatorSetting() {
  watchSupervisor();
  if (process.argv[2] !== 'serve' || !needsSetting()) return false;
  const env = { ...process.env, [SETTING]: THRESHOLD };
  const argv = [...process.execArgv, ...process.argv.slice(1)];
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

function needsSetting() {
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
