import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** What a stored output is: its size and when it was stored (for ETag and Last-Modified). */
export interface StoredFile {
  size: number;
  modifiedMs: number;
}

/**
 * Where encoded outputs live, shared by every node of a cluster: a directory or an S3-compatible bucket
 * (s3-video-storage.ts). Keys are relative, `/`-separated, and made by Pictor alone (a hash, a version,
 * rendition and output names it chose): no part of a URL ever becomes a key.
 */
export interface VideoStorage {
  /** For the start-up report. */
  readonly describe: string;
  /** Stores a local file under `key` (replacing what was there); the file may be moved away. */
  put(key: string, file: string): Promise<void>;
  /** Undefined when there is nothing under `key`. */
  stat(key: string): Promise<StoredFile | undefined>;
  /** Bytes `start` to `end` (inclusive) of `key`, streamed. */
  read(key: string, start?: number, end?: number): Promise<Readable>;
  /** Deletes every key under `prefix` (`prefix/…`) but those under `prefix/except/`. */
  deletePrefix(prefix: string, except?: string): Promise<void>;
}

/** Reads a whole stored output into memory (small ones only: ladders, frames). */
export async function readAll(storage: VideoStorage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Outputs in a directory: the data directory's (one node), or one every node mounts (a shared filesystem).
 * A file is written beside its place and renamed into it, so a reader sees a whole file or none.
 */
export class DirectoryVideoStorage implements VideoStorage {
  readonly describe: string;

  constructor(readonly root: string) {
    this.describe = `directory ${root}`;
  }

  async put(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${Date.now()}.part`;
    try {
      await fs.rename(file, temp);
    } catch (error) {
      // On another filesystem (a shared mount): copied instead.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await fs.copyFile(file, temp);
    }
    await fs.rename(temp, target);
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    const file = this.pathOf(key);
    try {
      const stat = await fs.stat(file);
      return stat.isFile() ? { size: stat.size, modifiedMs: stat.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  }

  async read(key: string, start?: number, end?: number): Promise<Readable> {
    const stream = createReadStream(this.pathOf(key), { start, end });
    // Opened before it is handed on, so a missing file is an error here rather than in the middle of a response.
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  }

  async deletePrefix(prefix: string, except?: string): Promise<void> {
    const dir = this.pathOf(prefix);
    if (except === undefined) return fs.rm(dir, { recursive: true, force: true });
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch {
      return;
    }
    await Promise.all(entries.filter((entry) => entry !== except).map((entry) => fs.rm(path.join(dir, entry), { recursive: true, force: true })));
  }

  /** Security: keys are Pictor's own, but a `..` part is refused anyway, so nothing outside the root is reached. */
  private pathOf(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '.' || part === '')) throw new Error(`invalid video storage key: ${key}`);
    return path.join(this.root, ...key.split('/'));
  }
}
