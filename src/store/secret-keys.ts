import fs from 'node:fs';
import path from 'node:path';
import { ensureDataDir } from './data-dir.ts';
import { decodeSecretKey, keyId, newSecretKey, SecretBox, SecretKeyError } from './secret-box.ts';

/**
 * Where the keys of Source secrets come from: `PICTOR_SECRET_KEY` when set, else the key file
 * `<data>/secret.key` (one key per line, base64 or hex, the first seals), created on the first start with
 * mode 0600. The key never lives in the database; the database only records the id of the key the server
 * seals with (SourceStore.sealAll), so that a command run with other keys refuses to write rather than seal
 * secrets the server cannot read.
 */

export const KEY_FILE = 'secret.key';
const ENV = 'PICTOR_SECRET_KEY';

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, KEY_FILE);
}

/** What the database says about the keys of its secrets: the ids that sealed them, and the id recorded as sealing. */
export interface StoredKeys {
  inUse: string[];
  recorded: string | undefined;
}

/**
 * The SecretBox from `envKeys`, else from the key file of `dataDir` (created when missing, unless `stored`
 * says the database already holds secrets, which a new key could not read). With a shared database
 * (`cluster`), the message says that every node needs the same key.
 */
export function secretBoxFor(dataDir: string, envKeys: Buffer[] | undefined, stored: () => StoredKeys, cluster = false): SecretBox {
  if (envKeys !== undefined) return new SecretBox({ keys: envKeys, origin: ENV });
  const file = keyFilePath(dataDir);
  if (!fs.existsSync(file)) {
    const { inUse, recorded } = stored();
    if (inUse.length > 0 || recorded !== undefined) {
      const where = cluster ? 'in the shared database' : 'in this data directory';
      const fix = cluster ? `Set ${ENV} to that key on every node (every node needs the same key).` : `Restore the key file (mode 0600), or set ${ENV} to the key the server uses.`;
      const key = inUse[0] ?? recorded;
      throw new SecretKeyError(`${file} is missing, and the secrets (of Sources, webhooks) ${where} are encrypted with the key ${key}. ${fix}`);
    }
    createKeyFile(file);
  }
  return new SecretBox({ keys: readKeyFile(file), origin: file, reload: () => readKeyFile(file) });
}

/**
 * For commands that write beside a running server (`pictor sources`, `pictor secrets rotate`), and for every
 * node of a cluster at start: refuses keys that do not include the one the server seals with, so nothing is
 * sealed that the server cannot open.
 */
export function checkSameKeys(recorded: string | undefined, box: SecretBox, cluster = false): void {
  if (recorded === undefined || box.hasKey(recorded)) return;
  if (cluster) {
    throw new SecretKeyError(
      `The shared database's Source secrets are encrypted with the key ${recorded}, which ${box.origin} does not hold. ` +
        `Every node needs the same key: set ${ENV} to it on every node.`,
    );
  }
  throw new SecretKeyError(
    `The server on this data directory encrypts Source secrets with the key ${recorded}, which ${box.origin} does not hold. ` +
      `Run this command with the server's keys (the same ${ENV}, or its key file).`,
  );
}

/** The keys of a key file, first = current. Refuses a file others may read, and a malformed one. */
export function readKeyFile(file: string): Buffer[] {
  let text: string;
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecretKeyError(`${file} may be read by other users (mode ${mode.toString(8).padStart(4, '0')}); allow only its owner: chmod 600 ${file}`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof SecretKeyError) throw error;
    throw new SecretKeyError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  const keys: Buffer[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const key = decodeSecretKey(line);
    if (key === undefined) throw new SecretKeyError(`${file}, line ${index + 1}: not a 32-byte key in base64 or hex (one key per line, the first encrypts).`);
    keys.push(key);
  });
  if (keys.length === 0) throw new SecretKeyError(`${file} holds no key (one 32-byte key per line, base64 or hex).`);
  return keys;
}

/** A new key file with one random key, readable by its owner only; never replaces a file another process just made. */
function createKeyFile(file: string): void {
  ensureDataDir(path.dirname(file));
  try {
    fs.writeFileSync(file, `${newSecretKey().toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Puts a new key first in the key file and keeps the others after it (a running server still opens values
 * sealed with them until it reads the file again). The file is replaced atomically, mode 0600. Returns the
 * new key's id and the ids of the keys kept.
 */
export function prependNewKey(file: string): { added: string; kept: string[] } {
  const kept = readKeyFile(file);
  const key = newSecretKey();
  const temporary = `${file}.${process.pid}.tmp`;
  fs.rmSync(temporary, { force: true });
  const handle = fs.openSync(temporary, 'wx', 0o600);
  try {
    fs.writeSync(handle, [key, ...kept].map((each) => `${each.toString('base64')}\n`).join(''));
    fs.fsyncSync(handle);
  } finally {
    fs.closeSync(handle);
  }
  fs.renameSync(temporary, file);
  return { added: keyId(key), kept: kept.map(keyId) };
}
