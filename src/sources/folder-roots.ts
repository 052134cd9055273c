import fs from 'node:fs';
import path from 'node:path';

/**
 * Which local directories `folder` Sources may serve: those inside a folder root allowed at start (the
 * assets directory, and each `--folder-root`). Roots are real paths (options.ts); a folder is judged by its
 * real path, so a symlink inside a root that leads out of it is outside.
 */

/** The setting, as messages name it. */
export const FOLDER_ROOTS_SETTING = '--folder-root / PICTOR_FOLDER_ROOTS';

/** `real` is a root or lies below one (both real paths). */
export function isInsideRoots(real: string, roots: readonly string[]): boolean {
  return roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}

export type FolderVerdict = { kind: 'allowed'; real: string } | { kind: 'outside'; leadsTo?: string } | { kind: 'missing' } | { kind: 'not-a-directory' };

/**
 * Where an absolute `folder` stands. Whether a folder outside every root exists is never told (no probing
 * of the file system through the API): it is `outside`, existing or not. Only a folder named inside a root
 * tells where its symlinks lead.
 */
export function judgeFolder(folder: string, roots: readonly string[]): FolderVerdict {
  const named = path.resolve(folder);
  const namedInside = isInsideRoots(named, roots);
  let real: string;
  try {
    real = fs.realpathSync(named);
  } catch {
    return namedInside ? { kind: 'missing' } : { kind: 'outside' };
  }
  if (!isInsideRoots(real, roots)) return namedInside ? { kind: 'outside', leadsTo: real } : { kind: 'outside' };
  if (!fs.statSync(real).isDirectory()) return { kind: 'not-a-directory' };
  return { kind: 'allowed', real };
}
