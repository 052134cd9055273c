import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Files on disk under one size bound, evicting the least recently used. Each file holds a small JSON header
 * (the entry's metadata) followed by the body, and is written atomically (temp file + rename) so a crash
 * never leaves a truncated entry behind.
 *
 * Files are grouped in one directory per asset (`<group>/<name>`), so dropping everything cached for an
 * asset is one rename into the trash, with the actual deletion left to the background.
 * The in-memory index (LRU order and sizes) is rebuilt by a background scan at start.
 *
 * The bound counts what the cache takes on disk, not the bytes of its files: a file takes whole blocks of
 * the file system, and every directory takes at least one. Counting bytes, a cache of small derivatives
 * would use several times its bound.
 *
 * It is only a cache, so a disk that fails never fails a request. A write, rename, mkdir or unlink that
 * fails (a full disk, a read-only or unwritable directory, an I/O error) makes the store degraded: it reports
 * the problem once, drops writes, and lets one through every few seconds to try the disk again; the first
 * that succeeds ends the degraded state. Reads go on as long as the files can be read.
 */
const MAGIC = 0x50435431; // "PCT1"
const WRITE_CONCURRENCY = 4;
const WRITE_BACKLOG_BYTES = 64 * 1024 * 1024;
/** While degraded, one write in this interval tries the disk again. */
export const PROBE_INTERVAL_MS = 3000;
/** The allocation unit assumed when the file system does not say. */
const DEFAULT_BLOCK_SIZE = 4096;

export interface DiskEntry<M> {
  meta: M;
  body: Buffer;
}

export interface DiskStoreOptions {
  /** The disk cache cannot be changed (a sentence saying what and where), or undefined: it works (again). */
  health?: (problem: string | undefined) => void;
  /** A change to the disk (write, rename, mkdir, unlink) that failed, by error code (ENOSPC, EROFS, …). */
  writeError?: (code: string) => void;
  /** Anything else worth a log line, such as a directory the index rebuild could not read. */
  error?: (error: unknown) => void;
  /** Tests shorten it. */
  probeIntervalMs?: number;
}

interface PendingWrite {
  group: string;
  name: string;
  meta: unknown;
  body: Buffer;
}

export class DiskStore<M> {
  private readonly index = new Map<string, number>(); // relative path -> bytes on disk, oldest first
  private readonly groups = new Map<string, Set<string>>(); // group dir -> relative paths
  /** Directories known to exist ('' is the root) -> bytes on disk: they count against the bound too. */
  private readonly dirs = new Map<string, number>();
  private total = 0;
  private blockSize = DEFAULT_BLOCK_SIZE;
  /** What a new directory takes: one block on most file systems, nothing on some (tmpfs keeps them in memory). */
  private dirSize = DEFAULT_BLOCK_SIZE;
  /** Undefined while the disk works; while degraded, when the next write may try the disk again. */
  private probeAt: number | undefined;
  private readonly probeIntervalMs: number;
  private readonly tmpDir: string;
  private readonly trashDir: string;
  private sweeping: Promise<void> = Promise.resolve();
  /** Writes and deletions still running, for `settled()`. */
  private readonly background = new Set<Promise<void>>();
  private writing = 0;
  private readonly writeBacklog: PendingWrite[] = [];
  private backlogBytes = 0;
  private readonly pendingByGroup = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly options: DiskStoreOptions = {},
  ) {
    this.tmpDir = `${root}.tmp`;
    this.trashDir = `${root}.trash`;
    this.probeIntervalMs = options.probeIntervalMs ?? PROBE_INTERVAL_MS;
  }

  /**
   * Prepares the directories; the index is rebuilt in the background (`ready` resolves when done). Never
   * fails: directories that cannot be made leave the store degraded from the start, trying again later.
   */
  async init(): Promise<{ ready: Promise<void> }> {
    try {
      await fs.rm(this.tmpDir, { recursive: true, force: true });
      await this.makeDirs();
      this.options.health?.(undefined);
    } catch (error) {
      this.failed('create', error);
    }
    this.blockSize = await blockSizeAt(this.root);
    const rootStat = await fs.stat(this.root).catch(() => undefined);
    this.dirSize = rootStat ? rootStat.blocks * 512 : this.blockSize;
    this.addDir('', this.dirSize);
    const ready = this.scan()
      .then(() => this.emptyTrash())
      .catch((error: unknown) => this.options.error?.(error));
    return { ready };
  }

  async read(group: string, name: string): Promise<DiskEntry<M> | undefined> {
    const rel = `${group}/${name}`;
    let data: Buffer;
    try {
      data = await fs.readFile(path.join(this.root, rel));
    } catch {
      this.forget(rel);
      return undefined;
    }
    const entry = decode<M>(data);
    if (!entry) {
      void this.remove(group, name);
      return undefined;
    }
    const size = this.index.get(rel);
    if (size === undefined) {
      this.track(rel, this.onDisk(data.length));
    } else {
      this.index.delete(rel);
      this.index.set(rel, size); // most recently used last
    }
    return entry;
  }

  /**
   * Writes behind the response, a few at a time: a burst of misses must not flood libuv's thread pool
   * with file operations that a cache read or a purge's origin check would then queue behind. Past the
   * backlog bound a write is dropped — it is only a cache, and the memory tier already holds the entry.
   * While degraded, writes are dropped too, but for one every probe interval, which tries the disk again.
   *
   * True when the entry is on its way to the disk (the write can still fail); false when it was dropped.
   */
  write(group: string, name: string, meta: M, body: Buffer): boolean {
    const write = { group, name, meta, body };
    if (this.probeAt !== undefined) {
      if (Date.now() >= this.probeAt) {
        this.probeAt = Date.now() + this.probeIntervalMs;
        this.startWrite(write, true);
      }
      return false;
    }
    if (this.writing < WRITE_CONCURRENCY) {
      this.startWrite(write, false);
      return true;
    }
    if (this.backlogBytes + body.length > WRITE_BACKLOG_BYTES) return false;
    this.addPending(group, 1);
    this.backlogBytes += body.length;
    this.writeBacklog.push(write);
    return true;
  }

  private startWrite(write: PendingWrite, probe: boolean): void {
    this.inBackground(this.writeNow(write, probe));
  }

  private async writeNow(write: PendingWrite, probe: boolean): Promise<void> {
    this.writing++;
    this.addPending(write.group, 1);
    try {
      if (probe) await this.makeDirs(); // a missing directory is one of the faults a probe recovers from
      await this.writeFile(write);
      if (probe) this.recovered();
    } catch (error) {
      this.failed('write', error);
    } finally {
      this.writing--;
      this.addPending(write.group, -1);
      this.nextWrite();
    }
  }

  /** Starts the oldest waiting write; if the disk failed meanwhile, drops every waiting write instead. */
  private nextWrite(): void {
    while (this.writeBacklog.length > 0) {
      const next = this.writeBacklog.shift()!;
      this.backlogBytes -= next.body.length;
      this.addPending(next.group, -1);
      if (this.probeAt === undefined) return this.startWrite(next, false);
    }
  }

  private async writeFile({ group, name, meta, body }: PendingWrite): Promise<void> {
    const rel = `${group}/${name}`;
    const header = Buffer.from(JSON.stringify(meta));
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(MAGIC, 0);
    prefix.writeUInt32BE(header.length, 4);
    const tmp = path.join(this.tmpDir, randomBytes(8).toString('hex'));
    try {
      await fs.writeFile(tmp, [prefix, header, body]);
      await moveIntoPlace(tmp, path.join(this.root, rel));
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => undefined); // on a read-only disk it cannot be
      throw error;
    }
    this.unindex(rel); // a file it replaced
    this.track(rel, this.onDisk(prefix.length + header.length + body.length));
    this.evict();
  }

  async remove(group: string, name: string): Promise<void> {
    await this.deleteFile(`${group}/${name}`);
  }

  /**
   * Deletes a whole group (or any directory of groups, such as a Source's) in the background; returns at
   * once. The caller must already have made its entries stale: freshness never depends on this cleanup.
   */
  dropGroup(group: string): void {
    const target = path.join(this.trashDir, randomBytes(8).toString('hex'));
    this.sweeping = this.sweeping
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.forgetUnder(group);
        return fs.rename(path.join(this.root, group), target);
      })
      .then(() => removeGently(target))
      .catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') this.failed('delete from', error);
      });
  }

  /** Number of entries cached in a group, including those still being written (for a purge's `matched`). */
  countGroup(group: string): number {
    return (this.groups.get(group)?.size ?? 0) + (this.pendingByGroup.get(group) ?? 0);
  }

  private addPending(group: string, delta: number): void {
    const count = (this.pendingByGroup.get(group) ?? 0) + delta;
    if (count > 0) this.pendingByGroup.set(group, count);
    else this.pendingByGroup.delete(group);
  }

  /** Waits for the writes, evictions and background deletions under way (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background);
    await this.sweeping;
  }

  /** Bytes the cache takes on disk: its files in whole blocks, and its directories. */
  get bytes(): number {
    return this.total;
  }

  get files(): number {
    return this.index.size;
  }

  /** True while the disk cache cannot be written (see `options.health` for why). */
  get degraded(): boolean {
    return this.probeAt !== undefined;
  }

  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** The disk space a file of `length` bytes takes: whole blocks. */
  private onDisk(length: number): number {
    return Math.ceil(length / this.blockSize) * this.blockSize;
  }

  private track(rel: string, size: number): void {
    this.index.set(rel, size);
    this.total += size;
    const group = parentOf(rel);
    let members = this.groups.get(group);
    if (!members) {
      this.groups.set(group, (members = new Set()));
      // Made by the write's mkdir, with any parent the layout puts above it (a Source's, a hash prefix's).
      for (let dir = group; dir !== '' && !this.dirs.has(dir); dir = parentOf(dir)) this.addDir(dir, this.dirSize);
    }
    members.add(rel);
  }

  /** Drops an entry from the index; its group's directory stops counting once its last entry is gone. */
  private forget(rel: string): void {
    if (!this.unindex(rel)) return;
    const group = parentOf(rel);
    const members = this.groups.get(group);
    members?.delete(rel);
    if (members?.size === 0) {
      this.groups.delete(group);
      if (group !== '') this.removeDir(group);
    }
  }

  /** Drops an entry from the index and the byte total; false if it was not there. */
  private unindex(rel: string): boolean {
    const size = this.index.get(rel);
    if (size === undefined) return false;
    this.index.delete(rel);
    this.total -= size;
    return true;
  }

  private addDir(dir: string, bytes: number): void {
    this.removeDir(dir);
    this.dirs.set(dir, bytes);
    this.total += bytes;
  }

  private removeDir(dir: string): void {
    const bytes = this.dirs.get(dir);
    if (bytes === undefined) return;
    this.dirs.delete(dir);
    this.total -= bytes;
  }

  private forgetUnder(dir: string): void {
    const exact = this.groups.get(dir);
    if (exact) {
      // The common case (a purged asset): drop the group's set whole, so 10,000 entries cost 10,000 index
      // deletions on the event loop and nothing more.
      this.groups.delete(dir);
      for (const rel of exact) this.unindex(rel);
      this.removeDir(dir);
      return;
    }
    const prefix = `${dir}/`;
    for (const group of [...this.groups.keys()]) {
      if (group.startsWith(prefix)) for (const rel of this.groups.get(group) ?? []) this.forget(rel);
    }
    for (const known of [...this.dirs.keys()]) if (known.startsWith(prefix)) this.removeDir(known);
    this.removeDir(dir);
  }

  private evict(): void {
    for (const [rel] of this.index) {
      if (this.total <= this.maxBytes) return;
      this.inBackground(this.deleteFile(rel));
    }
  }

  /** Forgets an entry and deletes its file, and its group's directory with the group's last entry. */
  private async deleteFile(rel: string): Promise<void> {
    const group = parentOf(rel);
    this.forget(rel);
    try {
      await fs.rm(path.join(this.root, rel), { force: true });
      // Left behind, empty directories would pile up on disk, uncounted. One being written to is kept.
      if (group !== '' && !this.groups.has(group) && !this.pendingByGroup.has(group)) await fs.rmdir(path.join(this.root, group));
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') this.failed('delete from', error);
    }
  }

  private makeDirs(): Promise<unknown> {
    return Promise.all([this.root, this.tmpDir, this.trashDir].map((dir) => fs.mkdir(dir, { recursive: true })));
  }

  /** Something could not be changed on disk: count it, and degrade until a probe write succeeds. */
  private failed(doing: 'create' | 'write' | 'delete from', error: unknown): void {
    this.options.writeError?.(errorCode(error));
    this.probeAt ??= Date.now() + this.probeIntervalMs;
    this.options.health?.(`cannot ${doing} the disk cache at ${this.root}: ${describe(error)}; serving without it`);
  }

  private recovered(): void {
    this.probeAt = undefined;
    this.options.health?.(undefined);
  }

  /**
   * Indexes what is on disk, oldest first, each file and directory at the space it takes (`blocks`), and
   * removes empty directories below the root (an interrupted cleanup's). Errors skip what cannot be read.
   */
  private async scan(): Promise<void> {
    const files: { rel: string; size: number; mtime: number }[] = [];
    const dirs = new Map<string, number>();
    /** False when the directory turned out empty and was removed. */
    const walk = async (dir: string): Promise<boolean> => {
      const abs = path.join(this.root, dir);
      let entries: Dirent[];
      try {
        entries = await fs.readdir(abs, { withFileTypes: true });
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') this.options.error?.(error);
        return true;
      }
      let holdsAnything = false;
      for (const entry of entries) {
        const rel = dir ? `${dir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (await walk(rel)) holdsAnything = true;
          continue;
        }
        holdsAnything = true;
        if (!entry.isFile()) continue;
        const stat = await fs.stat(path.join(this.root, rel)).catch(() => undefined);
        if (stat) files.push({ rel, size: stat.blocks * 512, mtime: stat.mtimeMs });
      }
      if (dir !== '' && !holdsAnything && (await fs.rmdir(abs).then(() => true, () => false))) return false;
      const stat = await fs.stat(abs).catch(() => undefined);
      if (stat) dirs.set(dir, stat.blocks * 512);
      return true;
    };
    await walk('');
    files.sort((a, b) => a.mtime - b.mtime);
    // Start over from what was found; entries written while scanning are the most recent.
    const written = new Map(this.index);
    this.index.clear();
    this.groups.clear();
    this.dirs.clear();
    this.total = 0;
    this.addDir('', this.dirSize);
    for (const [dir, size] of dirs) this.addDir(dir, size);
    for (const file of files) if (!written.has(file.rel)) this.track(file.rel, file.size);
    for (const [rel, size] of written) this.track(rel, size);
    this.evict();
  }

  private async emptyTrash(): Promise<void> {
    const names = await fs.readdir(this.trashDir).catch(() => []); // missing when init could not make it
    for (const name of names) await removeGently(path.join(this.trashDir, name));
  }
}

/** Renames a finished temp file to its place, making its group's directory first. */
async function moveIntoPlace(tmp: string, target: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(tmp, target);
  } catch {
    // The group was moved to the trash (a purge) or removed (evicted empty) meanwhile: once more.
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(tmp, target);
  }
}

/**
 * Deletes a tree one file at a time. `fs.rm({ recursive: true })` issues its unlinks all at once, which fills
 * libuv's thread pool for as long as a large purge's files take to delete, and a cache read or a purge's
 * origin check would wait behind them; one at a time, they never wait behind more than one.
 */
async function removeGently(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await removeGently(child);
    else await fs.unlink(child).catch(() => undefined);
  }
  await fs.rmdir(dir).catch(() => undefined);
}

/** The file system's allocation unit where the cache lives (or the nearest existing parent, if not made yet). */
async function blockSizeAt(dir: string): Promise<number> {
  for (let at = dir; ; at = path.dirname(at)) {
    const stats = await fs.statfs(at).catch(() => undefined);
    if (stats && stats.bsize > 0) return stats.bsize;
    if (path.dirname(at) === at) return DEFAULT_BLOCK_SIZE;
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
}

/** What went wrong, for a person: the usual disk errors in words, with their code. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  ENOENT: 'a directory is missing',
  ENOTDIR: 'a file is in the way of a directory',
  EEXIST: 'a file is in the way of a directory',
};

function describe(error: unknown): string {
  const code = errorCode(error);
  const reason = REASONS[code] ?? (error instanceof Error ? error.message : String(error));
  return code === 'unknown' ? reason : `${reason} (${code})`;
}

function decode<M>(data: Buffer): DiskEntry<M> | undefined {
  if (data.length < 8 || data.readUInt32BE(0) !== MAGIC) return undefined;
  const headerLength = data.readUInt32BE(4);
  if (8 + headerLength > data.length) return undefined;
  try {
    const meta = JSON.parse(data.subarray(8, 8 + headerLength).toString()) as M;
    return { meta, body: data.subarray(8 + headerLength) };
  } catch {
    return undefined;
  }
}
