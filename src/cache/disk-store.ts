import { randomBytes } from 'node:crypto';
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
 */
const MAGIC = 0x50435431; // "PCT1"
const WRITE_CONCURRENCY = 4;
const WRITE_BACKLOG_BYTES = 64 * 1024 * 1024;
/**
 * Files are counted in whole filesystem blocks, as they occupy the disk: a small file takes a block. That
 * also bounds the in-memory index, which holds a path per file, by the size bound.
 */
const BLOCK_BYTES = 4096;

export interface DiskEntry<M> {
  meta: M;
  body: Buffer;
}

export class DiskStore<M> {
  private readonly index = new Map<string, number>(); // relative path -> size, oldest first
  private readonly groups = new Map<string, Set<string>>(); // group dir -> relative paths
  private total = 0;
  private readonly tmpDir: string;
  private readonly trashDir: string;
  private sweeping: Promise<void> = Promise.resolve();
  private writing = 0;
  private readonly writeBacklog: (() => void)[] = [];
  private backlogBytes = 0;
  private readonly pendingByGroup = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.tmpDir = `${root}.tmp`;
    this.trashDir = `${root}.trash`;
  }

  /** Prepares the directories; the index is rebuilt in the background (`ready` resolves when done). */
  async init(): Promise<{ ready: Promise<void> }> {
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await Promise.all([fs.mkdir(this.root, { recursive: true }), fs.mkdir(this.tmpDir, { recursive: true }), fs.mkdir(this.trashDir, { recursive: true })]);
    const ready = this.scan()
      .then(() => this.emptyTrash())
      .catch(this.onError);
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
      this.track(rel, data.length);
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
   */
  write(group: string, name: string, meta: M, body: Buffer): Promise<void> {
    if (this.writing >= WRITE_CONCURRENCY) {
      if (this.backlogBytes + body.length > WRITE_BACKLOG_BYTES) return Promise.resolve();
      this.addPending(group, 1);
      this.backlogBytes += body.length;
      return new Promise((resolve) =>
        this.writeBacklog.push(() => {
          this.backlogBytes -= body.length;
          this.addPending(group, -1);
          void this.writeNow(group, name, meta, body).then(resolve);
        }),
      );
    }
    return this.writeNow(group, name, meta, body);
  }

  private async writeNow(group: string, name: string, meta: M, body: Buffer): Promise<void> {
    this.writing++;
    this.addPending(group, 1);
    try {
      await this.writeFile(group, name, meta, body);
    } finally {
      this.writing--;
      this.addPending(group, -1);
      this.writeBacklog.shift()?.();
    }
  }

  private async writeFile(group: string, name: string, meta: M, body: Buffer): Promise<void> {
    const rel = `${group}/${name}`;
    const header = Buffer.from(JSON.stringify(meta));
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(MAGIC, 0);
    prefix.writeUInt32BE(header.length, 4);
    const tmp = path.join(this.tmpDir, randomBytes(8).toString('hex'));
    await fs.writeFile(tmp, [prefix, header, body]);
    const target = path.join(this.root, rel);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(tmp, target);
    } catch {
      // The group was moved to the trash meanwhile (a purge): try once more, else give up (a cache miss).
      try {
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.rename(tmp, target);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        this.onError(error);
        return;
      }
    }
    this.forget(rel);
    this.track(rel, prefix.length + header.length + body.length);
    this.evict();
  }

  async remove(group: string, name: string): Promise<void> {
    const rel = `${group}/${name}`;
    this.forget(rel);
    await fs.rm(path.join(this.root, rel), { force: true }).catch(this.onError);
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
      .catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') this.onError(error);
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

  /** Waits for background deletions (tests, shutdown). */
  settled(): Promise<void> {
    return this.sweeping;
  }

  get bytes(): number {
    return this.total;
  }

  get files(): number {
    return this.index.size;
  }

  private track(rel: string, fileBytes: number): void {
    const size = Math.ceil(fileBytes / BLOCK_BYTES) * BLOCK_BYTES;
    this.index.set(rel, size);
    this.total += size;
    const group = rel.slice(0, rel.lastIndexOf('/'));
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Set()));
    members.add(rel);
  }

  private forget(rel: string): void {
    if (!this.unindex(rel)) return;
    const group = rel.slice(0, rel.lastIndexOf('/'));
    const members = this.groups.get(group);
    members?.delete(rel);
    if (members?.size === 0) this.groups.delete(group);
  }

  /** Drops an entry from the index and the byte total; false if it was not there. */
  private unindex(rel: string): boolean {
    const size = this.index.get(rel);
    if (size === undefined) return false;
    this.index.delete(rel);
    this.total -= size;
    return true;
  }

  private forgetUnder(dir: string): void {
    const exact = this.groups.get(dir);
    if (exact) {
      // The common case (a purged asset): drop the group's set whole, so 10,000 entries cost 10,000 index
      // deletions on the event loop and nothing more.
      this.groups.delete(dir);
      for (const rel of exact) this.unindex(rel);
      return;
    }
    const prefix = `${dir}/`;
    for (const group of [...this.groups.keys()]) {
      if (group.startsWith(prefix)) for (const rel of this.groups.get(group) ?? []) this.forget(rel);
    }
  }

  private evict(): void {
    for (const [rel] of this.index) {
      if (this.total <= this.maxBytes) return;
      this.forget(rel);
      fs.rm(path.join(this.root, rel), { force: true }).catch(this.onError);
    }
  }

  private async scan(): Promise<void> {
    const found: { rel: string; size: number; mtime: number }[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await fs.readdir(path.join(this.root, dir), { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const rel = dir ? `${dir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(rel);
        else if (entry.isFile()) {
          const stat = await fs.stat(path.join(this.root, rel)).catch(() => undefined);
          if (stat) found.push({ rel, size: stat.size, mtime: stat.mtimeMs });
        }
      }
    };
    await walk('');
    found.sort((a, b) => a.mtime - b.mtime);
    const written = new Map(this.index); // entries written while scanning are the most recent
    for (const rel of written.keys()) this.forget(rel);
    for (const file of found) if (!written.has(file.rel)) this.track(file.rel, file.size);
    for (const [rel, size] of written) this.track(rel, size);
    this.evict();
  }

  private async emptyTrash(): Promise<void> {
    for (const name of await fs.readdir(this.trashDir)) await removeGently(path.join(this.trashDir, name));
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
