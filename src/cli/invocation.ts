import fs from 'node:fs';
import path from 'node:path';

/**
 * How to run this same CLI again from the current directory, for commands printed to copy: `npx pictor` where
 * the package is installed in the project (node_modules/.bin), `pictor` when it is installed globally, and
 * `node bin/pictor.js` in a checkout of Pictor itself — where `npx pictor` would first install the checkout
 * into npm's cache and build it, and later run that build even once the sources have changed.
 */
export function cliInvocation(entry = process.argv[1], cwd = process.cwd()): string {
  const script = realScript(entry);
  if (script === undefined) return 'npx pictor';
  const packageRoot = path.resolve(path.dirname(script), script.endsWith('.ts') ? '../..' : '..');
  if (path.basename(path.dirname(packageRoot)) === 'node_modules') {
    return isInside(packageRoot, cwd) ? 'npx pictor' : 'pictor';
  }
  const bin = path.join(packageRoot, 'bin', 'pictor.js');
  const relative = path.relative(cwd, bin);
  return `node ${isInside(bin, cwd) ? relative : bin}`;
}

/** The entry script with its links followed (a node_modules/.bin link leads to the package's bin/pictor.js). */
function realScript(entry: string | undefined): string | undefined {
  if (entry === undefined) return undefined;
  try {
    return fs.realpathSync(entry);
  } catch {
    return undefined;
  }
}

function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
