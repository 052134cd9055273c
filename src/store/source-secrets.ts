import { sealedKeyId, SecretKeyError, type SecretBox } from './secret-box.ts';
import { SECRET_FIELDS, type Deployment, type SourceRecord } from './source-record.ts';

/** Meta key: the id of the key the last server start (or rotation) sealed with. */
export const SEALING_KEY_META = 'secret_key_id';

/**
 * Security invariant: one store has one sealing key. `sealAll` calls this under the lock that serialises it
 * (SQLite's write lock, PostgreSQL's LOCKS.sources), just before it records its key: the first start on a new
 * store records its key, and every start after it — also one that began at the same moment and saw no key
 * recorded yet — must hold that key, or stop here. Otherwise nodes started at once with different keys would
 * all serve, each sealing secrets the others cannot open, and all but one would be refused only at their next
 * start. A deliberate change of key keeps the recorded key after the new one (rotation), so it passes.
 */
export function refuseOtherSealingKey(recorded: string | undefined, box: SecretBox, shared: boolean): void {
  if (recorded === undefined || box.hasKey(recorded)) return;
  if (shared) {
    throw new SecretKeyError(
      `The shared database's Source secrets are encrypted with the key ${recorded} (recorded by the node that started first), ` +
        `which ${box.origin} does not hold. Every node needs the same key: set PICTOR_SECRET_KEY to it on every node.`,
    );
  }
  throw new SecretKeyError(
    `This data directory's Source secrets are encrypted with the key ${recorded} (recorded by another server on it, or an earlier start), ` +
      `which ${box.origin} does not hold. Start with that key; to change keys, give the new key first and ${recorded} after it.`,
  );
}

/** A Source as both stores hold it: the secrets in `deployment` and `secure_url_token` sealed. */
export interface StoredSource {
  id: string;
  name: string;
  type: string;
  enabled: boolean;
  /** JSON */
  deployment: string;
  secure_url_token: string | null;
  date_deployed: number;
}

/**
 * Seals a Source's secrets — the credentials of `SECRET_FIELDS` inside `deployment` and the
 * `secure_url_token` — for writing: the database holds ciphertext only.
 */
export function sealSource(source: SourceRecord, secrets: SecretBox): StoredSource {
  const deployment: Record<string, unknown> = { ...source.deployment };
  for (const field of SECRET_FIELDS) {
    const value = source.deployment[field];
    if (value !== undefined) deployment[field] = secrets.seal(value, secretContext(source.id, field));
  }
  return {
    id: source.id,
    name: source.name,
    type: source.deployment.type,
    enabled: source.enabled,
    deployment: JSON.stringify(deployment),
    secure_url_token: source.secureUrlToken === undefined ? null : secrets.seal(source.secureUrlToken, secretContext(source.id, 'secure_url_token')),
    date_deployed: source.dateDeployed,
  };
}

/** Opens a stored Source's secrets; a value stored in plain text (before encryption existed) reads as it is, until sealed. */
export function openSource(row: StoredSource, secrets: SecretBox): SourceRecord {
  const open = (value: string, context: string): string => (sealedKeyId(value) === undefined ? value : secrets.open(value, context));
  const deployment = JSON.parse(row.deployment) as Deployment;
  for (const field of SECRET_FIELDS) {
    const value = deployment[field];
    if (value !== undefined) deployment[field] = open(value, secretContext(row.id, field));
  }
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    deployment,
    secureUrlToken: row.secure_url_token === null ? undefined : open(row.secure_url_token, secretContext(row.id, 'secure_url_token')),
    dateDeployed: row.date_deployed,
  };
}

/**
 * How many of a stored Source's secrets are not sealed with the current key: `sealed` in plain text,
 * `resealed` sealed with an older key.
 */
export function staleSecrets(row: Pick<StoredSource, 'deployment' | 'secure_url_token'>, secrets: SecretBox): { sealed: number; resealed: number } {
  const counts = { sealed: 0, resealed: 0 };
  for (const value of storedSecrets(row)) {
    const id = sealedKeyId(value);
    if (id === secrets.currentKeyId) continue;
    if (id === undefined) counts.sealed++;
    else counts.resealed++;
  }
  return counts;
}

/** The ids of the keys that sealed these stored Sources' secrets (without opening them). */
export function sealingKeyIds(rows: Iterable<Pick<StoredSource, 'deployment' | 'secure_url_token'>>): Set<string> {
  const ids = new Set<string>();
  for (const row of rows) {
    for (const value of storedSecrets(row)) {
      const id = sealedKeyId(value);
      if (id !== undefined) ids.add(id);
    }
  }
  return ids;
}

function storedSecrets(row: Pick<StoredSource, 'deployment' | 'secure_url_token'>): string[] {
  const deployment = JSON.parse(row.deployment) as Deployment;
  const values = SECRET_FIELDS.map((field) => deployment[field]).filter((value): value is string => typeof value === 'string');
  return row.secure_url_token === null ? values : [...values, row.secure_url_token];
}

/** What a sealed value is bound to: it opens only in this field of this Source. */
function secretContext(sourceId: string, field: string): string {
  return `${field} of Source ${sourceId}`;
}
