import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the Video API keeps its files. Outputs live in the video store (video-storage.ts), under keys
 *
 *   <hash of Source and path>/v<version>/   one version's outputs: ladder.json, <rendition>/index.m3u8 and
 *                                           seg_NNN.ts, and outputs made on request (out/…)
 *
 * which the default store, a directory, keeps as `<data>/video/assets/<key>`. Inputs and outputs being made
 * are written on this node's disk, under `<data>/video/tmp/` (emptied at start), and stored once whole.
 */
export class VideoFiles {
  readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'video');
    this.tmp = path.join(this.root, 'tmp');
  }

  /** The directory of the default video store. */
  get defaultStore(): string {
    return path.join(this.root, 'assets');
  }

  /** Empties tmp/: what a killed process was writing there is never used. */
  async init(): Promise<void> {
    await fs.rm(this.tmp, { recursive: true, force: true });
    await fs.mkdir(this.tmp, { recursive: true });
  }

  /** The key prefix of every version of a video. */
  assetKey(sourceId: string, assetPath: string): string {
    return createHash('sha256').update(`${sourceId}\n${assetPath}`).digest('hex').slice(0, 40);
  }

  versionKey(sourceId: string, assetPath: string, version: number): string {
    return `${this.assetKey(sourceId, assetPath)}/v${version}`;
  }

  /** A video's directory in the default store. */
  assetDir(sourceId: string, assetPath: string): string {
    return path.join(this.defaultStore, this.assetKey(sourceId, assetPath));
  }

  versionDir(sourceId: string, assetPath: string, version: number): string {
    return path.join(this.assetDir(sourceId, assetPath), `v${version}`);
  }

  /** A new path under tmp/ (nothing is created). */
  tempPath(suffix = ''): string {
    return path.join(this.tmp, `${randomUUID()}${suffix}`);
  }

  async remove(file: string): Promise<void> {
    await fs.rm(file, { recursive: true, force: true });
  }
}

/** Every file under `dir`, as paths relative to it with `/` separators. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const relative = (entry: (typeof entries)[number]) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
  return entries.filter((entry) => entry.isFile()).map(relative);
}
