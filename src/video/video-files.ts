import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the Video API keeps its files, under `<data>/video/`:
 *
 *   assets/<hash of Source and path>/v<version>/   one version's outputs: ladder.json, <rendition>/index.m3u8
 *                                                  and seg_NNN.ts, and outputs made on request (mp4, frames…)
 *   tmp/                                           inputs and outputs being written; emptied at start
 *
 * Everything is written under tmp/ and renamed into place, so a reader (or a restart after kill -9) sees a
 * whole version directory or none, and a whole output file or none.
 */
export class VideoFiles {
  readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'video');
    this.tmp = path.join(this.root, 'tmp');
  }

  /** Empties tmp/: what a killed process was writing there is never used. */
  async init(): Promise<void> {
    await fs.rm(this.tmp, { recursive: true, force: true });
    await fs.mkdir(this.tmp, { recursive: true });
  }

  assetDir(sourceId: string, assetPath: string): string {
    const hash = createHash('sha256').update(`${sourceId}\n${assetPath}`).digest('hex').slice(0, 40);
    return path.join(this.root, 'assets', hash);
  }

  versionDir(sourceId: string, assetPath: string, version: number): string {
    return path.join(this.assetDir(sourceId, assetPath), `v${version}`);
  }

  /** A new path under tmp/ (nothing is created). */
  tempPath(suffix = ''): string {
    return path.join(this.tmp, `${randomUUID()}${suffix}`);
  }

  /** Moves a finished temporary directory into place as `dir` (replacing one left by an earlier attempt). */
  async publishDir(temp: string, dir: string): Promise<void> {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await fs.rename(temp, dir);
  }

  /** Deletes every version of a video but `keep` (all of them without it). */
  async removeVersions(sourceId: string, assetPath: string, keep?: number): Promise<void> {
    const dir = this.assetDir(sourceId, assetPath);
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch {
      return;
    }
    await Promise.all(entries.filter((entry) => entry !== `v${keep}`).map((entry) => fs.rm(path.join(dir, entry), { recursive: true, force: true })));
    if (keep === undefined) await fs.rm(dir, { recursive: true, force: true });
  }

  async remove(file: string): Promise<void> {
    await fs.rm(file, { recursive: true, force: true });
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
