import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PictorError } from '../errors.ts';
import { decodeAssetPath } from './asset-path.ts';
import { FOLDER_ROOTS_SETTING, isInsideRoots } from './folder-roots.ts';
import { contentTypeFromPath, type Origin, type OriginResult, type Validators } from './origin.ts';

/**
 * A local directory. Security invariants:
 * - Nothing outside `root` is ever read. The decoded path has no `.` or `..` segments and no NUL
 *   (asset-path.ts), and the real path of the file, after symlinks, must still lie under the real path of the
 *   root — a symlink that leaves the root is refused with 403.
 * - Nothing outside the folder roots allowed at start (`allowedRoots`, real paths) is ever read: the real
 *   path of `root` must lie inside one of them, or every fetch is refused with 403 (FOLDER_OUTSIDE_ROOTS)
 *   before any file is opened. It is checked when the Origin is created (a Source stored by an older
 *   version, or by a command run with other roots, is refused then), and again whenever the root is
 *   resolved later (a folder that did not exist yet). Files are then resolved under that checked real path
 *   only, so a folder replaced by a symlink afterwards cannot lead elsewhere either.
 */
export class FolderOrigin implements Origin {
  private realRoot: Promise<string> | undefined;

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly allowedRoots: readonly string[],
  ) {
    let real: string | undefined;
    try {
      real = fsSync.realpathSync(root);
    } catch {
      // Resolved at the first fetch, with the same check (and the same error while it is missing).
    }
    if (real !== undefined) this.realRoot = Promise.resolve(this.checkRoot(real));
  }

  async fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult> {
    const file = await this.resolve(canonicalPath);
    if (file === undefined) return { kind: 'missing' };
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (error) {
      if (isMissing(error)) return { kind: 'missing' };
      throw originFailure(error);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return { kind: 'missing' };
      const current: Validators = { etag: `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`, lastModified: stat.mtime.toUTCString() };
      if (validators?.etag !== undefined && validators.etag === current.etag) return { kind: 'not-modified', validators: current };
      if (stat.size > this.maxBytes) {
        throw new PictorError('INPUT_TOO_LARGE', `The asset is ${stat.size} bytes, over the limit of ${this.maxBytes} bytes.`);
      }
      const body = await handle.readFile();
      return { kind: 'found', body, contentType: contentTypeFromPath(file), validators: current };
    } finally {
      await handle.close();
    }
  }

  /** The absolute file for a canonical path, or undefined when it does not exist. */
  private async resolve(canonicalPath: string): Promise<string | undefined> {
    const root = await this.getRealRoot();
    const candidate = path.join(root, decodeAssetPath(canonicalPath));
    let real: string;
    try {
      real = await fs.realpath(candidate);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw originFailure(error);
    }
    if (real !== root && !real.startsWith(root + path.sep)) {
      throw new PictorError('FORBIDDEN_PATH', 'The path leads outside the Source\'s folder.');
    }
    return real;
  }

  private getRealRoot(): Promise<string> {
    this.realRoot ??= fs.realpath(this.root).then((real) => this.checkRoot(real)).catch((error: unknown) => {
      this.realRoot = undefined;
      if (error instanceof PictorError) throw error;
      if (isMissing(error)) throw new PictorError('ORIGIN_UNAVAILABLE', `The Source's folder ${this.root} does not exist.`);
      throw originFailure(error);
    });
    return this.realRoot;
  }

  /** The root's real path, if it lies inside an allowed root (the path itself is not told to the public listener). */
  private checkRoot(real: string): string {
    if (!isInsideRoots(real, this.allowedRoots)) {
      throw new PictorError('FOLDER_OUTSIDE_ROOTS', `This Source's folder is outside the folder roots allowed at start (${FOLDER_ROOTS_SETTING}), so it is not served.`);
    }
    return real;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}

function originFailure(error: unknown): PictorError {
  return new PictorError('ORIGIN_UNAVAILABLE', `The Source's folder could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
}
