import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * A small real file system (a tmpfs of a given size) for tests of full and read-only disks.
 *
 * Run as root, the tmpfs is mounted where the tests run. Elsewhere it is mounted in a user and mount
 * namespace of its own (`unshare -rm`, held open by a sleeping process), where it is visible only to the
 * commands started through `command()` or `sh()` — the server under test must be one of them. Set
 * PICTOR_TEST_SMALL_FS=userns to use the namespace even as root. Mounts are undone by the test's `after`,
 * also when the test fails, and at the latest when the test process exits.
 */
export interface SmallFs {
  /** The mount point: a directory of a temp folder, empty at first. */
  readonly dir: string;
  /** The command line that runs `argv` where the mount is visible, in the current working directory. */
  command(argv: string[]): string[];
  /** Runs a shell script where the mount is visible; resolves with its standard output. */
  sh(script: string): Promise<string>;
  /**
   * Takes every free byte with a filler file, so the next write that needs space fails with ENOSPC; with
   * `leaveBytes`, that many bytes stay free, so the next few small writes still fit.
   */
  fill(leaveBytes?: number): Promise<void>;
  /** Deletes the filler file. */
  free(): Promise<void>;
  /**
   * Makes the file system read-only for every path opened from now on (EROFS), with a read-only bind mount
   * over it. Files already open for writing stay writable: a plain `mount -o remount,ro` refuses to run
   * while any are (EBUSY), and a server's SQLite store keeps its files open.
   */
  readOnly(): Promise<void>;
  /** Undoes `readOnly()`. */
  readWrite(): Promise<void>;
}

type Mode = { kind: 'root' } | { kind: 'userns' } | { kind: 'unavailable'; reason: string };

const FILLER = '.filler';
const SPARE = '.spare';

let mode: Promise<Mode> | undefined;

/** Why small file systems cannot be mounted here (a message for `skip`), or undefined when they can. */
export async function smallFsUnavailable(): Promise<string | undefined> {
  const found = await detectMode();
  return found.kind === 'unavailable' ? found.reason : undefined;
}

/** Mounts a tmpfs of `bytes` bytes at a new temp directory; `t.after` unmounts it and removes the directory. */
export async function mountSmallFs(t: { after(fn: () => Promise<void>): void }, bytes: number): Promise<SmallFs> {
  const found = await detectMode();
  if (found.kind === 'unavailable') throw new Error(`no small file system: ${found.reason}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-small-fs-'));
  const mount = found.kind === 'root' ? new RootMount(dir) : await NamespaceMount.start(dir);
  t.after(() => mount.undo());
  await mount.run(['mount', '-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'pictor-test', dir]);
  mount.mounted = true;

  let overmounted = false;
  return {
    dir,
    command: (argv) => mount.command(argv),
    sh: async (script) => mount.run(['sh', '-c', script]),
    fill: async (leaveBytes = 0) => {
      const spare = quote(path.join(dir, SPARE));
      const reserve = leaveBytes > 0 ? `dd if=/dev/zero of=${spare} bs=4096 count=${Math.ceil(leaveBytes / 4096)} 2>/dev/null && ` : '';
      // dd stops with ENOSPC once the file system is full, which is the point.
      await mount.run(['sh', '-c', `${reserve}dd if=/dev/zero of=${quote(path.join(dir, FILLER))} bs=65536 2>/dev/null; rm -f ${spare}`]);
    },
    free: async () => {
      await mount.run(['rm', '-f', path.join(dir, FILLER)]);
    },
    readOnly: async () => {
      await mount.run(['mount', '--bind', dir, dir]);
      overmounted = true;
      mount.overmounts++;
      await mount.run(['mount', '-o', 'remount,bind,ro', dir]);
    },
    readWrite: async () => {
      if (!overmounted) return;
      // Lazily: a read in flight through the read-only mount must not make this fail.
      await mount.run(['umount', '-l', dir]);
      overmounted = false;
      mount.overmounts--;
    },
  };
}

function detectMode(): Promise<Mode> {
  mode ??= (async (): Promise<Mode> => {
    const probe = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-small-fs-probe-'));
    const script = `mount -t tmpfs -o size=65536 pictor-probe ${quote(probe)} && umount ${quote(probe)}`;
    try {
      const failures: string[] = [];
      if (process.env.PICTOR_TEST_SMALL_FS !== 'userns') {
        const direct = await attempt(['sh', '-c', script]);
        if (direct === undefined) return { kind: 'root' };
        failures.push(`mount: ${direct}`);
      }
      const namespaced = await attempt(['unshare', '-rm', 'sh', '-c', script]);
      if (namespaced === undefined) return { kind: 'userns' };
      failures.push(`unshare -rm: ${namespaced}`);
      return { kind: 'unavailable', reason: `a tmpfs cannot be mounted here (${failures.join('; ')})` };
    } finally {
      await fs.rmdir(probe).catch(() => undefined);
    }
  })();
  return mode;
}

/** Runs a command; undefined if it succeeded, else what it said. */
async function attempt(argv: string[]): Promise<string | undefined> {
  try {
    await exec(argv[0]!, argv.slice(1), { timeout: 10_000 });
    return undefined;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    return (failed.stderr?.trim() || failed.message).split('\n')[0];
  }
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Mounts made here, undone synchronously if the process exits before their tests' `after` ran. */
const leftovers = new Set<Mount>();
process.once('exit', () => {
  for (const mount of leftovers) mount.undoNow();
});

abstract class Mount {
  mounted = false;
  overmounts = 0;

  constructor(readonly dir: string) {
    leftovers.add(this);
  }

  abstract command(argv: string[]): string[];

  async run(argv: string[]): Promise<string> {
    const [file, ...args] = this.command(argv);
    try {
      return (await exec(file!, args, { timeout: 30_000 })).stdout;
    } catch (error) {
      const failed = error as { stderr?: string; message: string };
      throw new Error(`${argv.join(' ')} failed: ${failed.stderr?.trim() || failed.message}`);
    }
  }

  /** Unmounts everything and removes the directory. */
  async undo(): Promise<void> {
    leftovers.delete(this);
    try {
      await this.unmount();
    } finally {
      await fs.rmdir(this.dir).catch(() => undefined);
    }
  }

  protected abstract unmount(): Promise<void>;
  abstract undoNow(): void;
}

class RootMount extends Mount {
  command(argv: string[]): string[] {
    return argv;
  }

  protected async unmount(): Promise<void> {
    for (; this.overmounts > 0; this.overmounts--) await this.run(['umount', '-l', this.dir]);
    if (!this.mounted) return;
    // Lazily if something still has it open (a server that did not stop): it goes once that closes.
    await this.run(['umount', this.dir]).catch(() => this.run(['umount', '-l', this.dir]));
    this.mounted = false;
  }

  undoNow(): void {
    for (let i = 0; i < this.overmounts + (this.mounted ? 1 : 0); i++) {
      try {
        execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
      } catch {
        return; // nothing more is mounted there
      }
    }
  }
}

/** A mount in a user and mount namespace held by a sleeping process: it goes away with that process. */
class NamespaceMount extends Mount {
  private constructor(
    dir: string,
    private readonly holder: ChildProcess,
  ) {
    super(dir);
  }

  static async start(dir: string): Promise<NamespaceMount> {
    const holder = spawn('unshare', ['-rm', 'sleep', 'infinity'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      holder.once('spawn', resolve);
      holder.once('error', reject);
    });
    const mount = new NamespaceMount(dir, holder);
    // Until unshare has made the namespaces, the holder is still in ours: mounting then would mount here.
    const ours = await namespaces(process.pid);
    for (let tries = 0; ; tries++) {
      const its = await namespaces(holder.pid!).catch(() => ours);
      if (its.user !== ours.user && its.mnt !== ours.mnt) return mount;
      if (tries >= 250 || holder.exitCode !== null) {
        holder.kill('SIGKILL');
        throw new Error('unshare -rm did not make its namespaces');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  command(argv: string[]): string[] {
    return ['nsenter', `--target=${this.holder.pid}`, '--user', '--mount', '--preserve-credentials', `--wd=${process.cwd()}`, ...argv];
  }

  protected async unmount(): Promise<void> {
    if (this.holder.exitCode !== null || this.holder.signalCode !== null) return;
    const exited = new Promise((resolve) => this.holder.once('exit', resolve));
    this.holder.kill('SIGKILL');
    await exited;
  }

  undoNow(): void {
    this.holder.kill('SIGKILL');
  }
}

async function namespaces(pid: number): Promise<{ user: string; mnt: string }> {
  const [user, mnt] = await Promise.all([fs.readlink(`/proc/${pid}/ns/user`), fs.readlink(`/proc/${pid}/ns/mnt`)]);
  return { user, mnt };
}
