import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PictorError } from '../errors.ts';
import { decodeAssetPath } from './asset-path.ts';
import { FOLDER_ROOTS_SETTING, isInsideRoots } from './folder-roots.ts';
import { contentTypeFromPath, type Origin, type OriginFile, type OriginObject, type OriginResult, type Validators } from './origin.ts';

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
 * - Nothing outside `root` is ever written (uploads): the file's folder, after symlinks, must lie under the
 *   real root, and folders are created only below one that does; the file is written beside its final name
 *   and moved into place, so no reader sees half of it. A symlink at that name, wherever it leads, is
 *   refused with 403 and left as it is with its target: an upload neither follows nor replaces one. (One
 *   made there between that check and the move would be replaced, never followed: the move renames over
 *   the link itself.)
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
      const object = folderObject(file);
      if (validators?.etag !== undefined && validators.etag === current.etag) return { kind: 'not-modified', validators: current, object };
      if (stat.size > this.maxBytes) {
        throw new PictorError('INPUT_TOO_LARGE', `The asset is ${stat.size} bytes, over the limit of ${this.maxBytes} bytes.`);
      }
      const body = await handle.readFile();
      return { kind: 'found', body, contentType: contentTypeFromPath(file), validators: current, object };
    } finally {
      await handle.close();
    }
  }

  /** The real path the file has, or would have under the real root while it does not exist. */
  async objectFor(canonicalPath: string): Promise<OriginObject | undefined> {
    try {
      const file = await this.resolve(canonicalPath);
      return folderObject(file ?? path.join(await this.getRealRoot(), decodeAssetPath(canonicalPath)));
    } catch {
      return undefined; // outside the root, or the root is not served: nothing there to name
    }
  }

  async write(canonicalPath: string, file: OriginFile): Promise<'created' | 'replaced'> {
    const root = await this.getRealRoot();
    const relative = decodeAssetPath(canonicalPath);
    if (relative === '/') throw new PictorError('INVALID_PATH', 'Invalid path: name a file to upload, not the folder itself.');
    const folder = await this.folderInside(root, path.dirname(path.join(root, relative)));
    const target = path.join(folder, path.basename(relative));
    const existing = await fs.lstat(target).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(originFailure(error))));
    if (existing?.isDirectory()) throw new PictorError('CONFLICT', `${canonicalPath} is a folder at the origin; choose another name.`);
    if (existing?.isSymbolicLink()) {
      throw new PictorError('FORBIDDEN_PATH', `${canonicalPath} is a symbolic link at the origin; an upload never replaces or follows one.`);
    }
    if (existing && !file.overwrite) throw alreadyThere(canonicalPath);
    const temporary = path.join(folder, `.${path.basename(relative).slice(0, 64)}.upload-${randomBytes(6).toString('hex')}`);
    try {
      const handle = await fs.open(temporary, 'wx', 0o644);
      try {
        await handle.writeFile(file.body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (file.overwrite) await fs.rename(temporary, target);
      else await fs.link(temporary, target); // fails if a file appeared meanwhile: never replaces one
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyThere(canonicalPath);
      throw error instanceof PictorError ? error : writeFailure(error);
    } finally {
      await fs.rm(temporary, { force: true });
    }
    await syncFolder(folder);
    return existing ? 'replaced' : 'created';
  }

  /**
   * The real path of `folder`, created if missing: its deepest existing ancestor, after symlinks, must lie
   * under the real root, and so must the folder once created.
   */
  private async folderInside(root: string, folder: string): Promise<string> {
    let existing = folder;
    for (;;) {
      try {
        checkInside(root, await fs.realpath(existing));
        break;
      } catch (error) {
        if (!isMissing(error) || existing === root) throw error instanceof PictorError ? error : originFailure(error);
        existing = path.dirname(existing);
      }
    }
    try {
      await fs.mkdir(folder, { recursive: true });
      return checkInside(root, await fs.realpath(folder));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') throw new PictorError('CONFLICT', 'A file at the origin is in the way of a folder of this path.');
      throw error instanceof PictorError ? error : writeFailure(error);
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
    return checkInside(root, real);
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

/** Real paths, so a symlink and its target, or two Sources on one folder, name one object. */
function folderObject(realPath: string): OriginObject {
  return `folder:${realPath}`;
}

function checkInside(root: string, real: string): string {
  if (real !== root && !real.startsWith(root + path.sep)) throw new PictorError('FORBIDDEN_PATH', "The path leads outside the Source's folder.");
  return real;
}

function alreadyThere(canonicalPath: string): PictorError {
  return new PictorError('CONFLICT', `${canonicalPath} already exists at the origin; add ?overwrite=true to replace it.`);
}

/** Makes a new name in a folder durable (the file's own bytes were synced before). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}

/** A path too long for this folder (its own path counts too) is the request's fault; anything else the origin's. */
function writeFailure(error: unknown): PictorError {
  if ((error as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') return originFailure(error);
  return new PictorError('INVALID_PATH', "Invalid path: it is too long for the Source's folder; choose shorter names.");
}

function originFailure(error: unknown): PictorError {
  return new PictorError('ORIGIN_UNAVAILABLE', `The Source's folder could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
}
