import fs from 'node:fs/promises';
import path from 'node:path';
import { PictorError } from '../errors.ts';
import { decodeAssetPath } from './asset-path.ts';
import { contentTypeFromPath, type Origin, type OriginResult, type Validators } from './origin.ts';

/**
 * A local directory. Security invariant: nothing outside `root` is ever read. The decoded path has no `.`
 * or `..` segments and no NUL (asset-path.ts), and the real path of the file, after symlinks, must still lie
 * under the real path of the root — a symlink that leaves the root is refused with 403.
 */
export class FolderOrigin implements Origin {
  private realRoot: Promise<string> | undefined;

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
  ) {}

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
    this.realRoot ??= fs.realpath(this.root).catch((error: unknown) => {
      this.realRoot = undefined;
      if (isMissing(error)) throw new PictorError('ORIGIN_UNAVAILABLE', `The Source's folder ${this.root} does not exist.`);
      throw originFailure(error);
    });
    return this.realRoot;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}

function originFailure(error: unknown): PictorError {
  return new PictorError('ORIGIN_UNAVAILABLE', `The Source's folder could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
}
