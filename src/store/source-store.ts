import { setMeta, type Db } from './db.ts';
import { SECRET_FIELDS, type Deployment, type SourceRecord } from '../sources/model.ts';
import { sealedKeyId, type SecretBox } from './secret-box.ts';

/** Meta key: the id of the key the last server start (or rotation) sealed with. */
export const SEALING_KEY_META = 'secret_key_id';

interface SourceRow {
  id: string;
  name: string;
  type: string;
  enabled: number;
  deployment: string;
  secure_url_token: string | null;
  date_deployed: number;
}

/**
 * Sources in SQLite. Their secrets — the credentials of `SECRET_FIELDS` inside `deployment` and the
 * `secure_url_token` — are sealed here on write and opened here on read (secret-box.ts): the database
 * holds ciphertext only, and nothing above this class ever sees it.
 */
export class SourceStore {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
  ) {}

  all(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, rowid').all() as SourceRow[]).map((row) => this.toRecord(row));
  }

  get(id: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row && this.toRecord(row);
  }

  upsert(source: SourceRecord): void {
    const deployment: Record<string, unknown> = { ...source.deployment };
    for (const field of SECRET_FIELDS) {
      const value = source.deployment[field];
      if (value !== undefined) deployment[field] = this.secrets.seal(value, secretContext(source.id, field));
    }
    this.db
      .prepare(
        `INSERT INTO sources (id, name, type, enabled, deployment, secure_url_token, date_deployed, created_at)
         VALUES (@id, @name, @type, @enabled, @deployment, @secure_url_token, @date_deployed, @date_deployed)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, enabled = excluded.enabled,
           deployment = excluded.deployment, secure_url_token = excluded.secure_url_token, date_deployed = excluded.date_deployed`,
      )
      .run({
        id: source.id,
        name: source.name,
        type: source.deployment.type,
        enabled: source.enabled ? 1 : 0,
        deployment: JSON.stringify(deployment),
        secure_url_token: source.secureUrlToken === undefined ? null : this.secrets.seal(source.secureUrlToken, secretContext(source.id, 'secure_url_token')),
        date_deployed: source.dateDeployed,
      });
  }

  /**
   * Seals every secret with the current key, in one transaction: values stored in plain text (by a version
   * before encryption) and values sealed with an older key. Opening each one on the way proves the keys are
   * the right ones (a SecretKeyError otherwise). Freed pages are zeroed and the log is checkpointed, so the
   * plain text does not linger in the file. Records the current key's id (SEALING_KEY_META).
   */
  sealAll(): { sealed: number; resealed: number } {
    const counts = { sealed: 0, resealed: 0 };
    this.db.pragma('secure_delete = ON');
    try {
      this.transaction(() => {
        for (const row of this.db.prepare('SELECT * FROM sources').all() as SourceRow[]) {
          let changed = false;
          for (const value of storedSecrets(row)) {
            const id = sealedKeyId(value);
            if (id === this.secrets.currentKeyId) continue;
            changed = true;
            if (id === undefined) counts.sealed++;
            else counts.resealed++;
          }
          // Opens every value (also those already current) and seals again whatever changed.
          const record = this.toRecord(row);
          if (changed) this.upsert(record);
        }
        setMeta(this.db, SEALING_KEY_META, this.secrets.currentKeyId);
      });
      if (counts.sealed + counts.resealed > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.pragma('secure_delete = OFF');
    }
    return counts;
  }

  /**
   * Runs `fn` as one write transaction taken at once (BEGIN IMMEDIATE), so checks made inside it (such as
   * domain uniqueness) still hold when its write commits, even with another process writing.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Changes whenever another connection (the CLI, say) commits; cheap enough to poll. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private toRecord(row: SourceRow): SourceRecord {
    const deployment = JSON.parse(row.deployment) as Deployment;
    for (const field of SECRET_FIELDS) {
      const value = deployment[field];
      if (value !== undefined) deployment[field] = this.open(value, secretContext(row.id, field));
    }
    return {
      id: row.id,
      name: row.name,
      enabled: row.enabled === 1,
      deployment,
      secureUrlToken: row.secure_url_token === null ? undefined : this.open(row.secure_url_token, secretContext(row.id, 'secure_url_token')),
      dateDeployed: row.date_deployed,
    };
  }

  /** A value stored in plain text (before encryption existed) reads as it is, until `sealAll` seals it. */
  private open(value: string, context: string): string {
    return sealedKeyId(value) === undefined ? value : this.secrets.open(value, context);
  }
}

/** The ids of the keys that sealed the secrets stored (without opening them). */
export function storedKeyIds(db: Db): Set<string> {
  const ids = new Set<string>();
  for (const row of db.prepare('SELECT deployment, secure_url_token FROM sources').all() as SourceRow[]) {
    for (const value of storedSecrets(row)) {
      const id = sealedKeyId(value);
      if (id !== undefined) ids.add(id);
    }
  }
  return ids;
}

function storedSecrets(row: Pick<SourceRow, 'deployment' | 'secure_url_token'>): string[] {
  const deployment = JSON.parse(row.deployment) as Deployment;
  const values = SECRET_FIELDS.map((field) => deployment[field]).filter((value): value is string => typeof value === 'string');
  return row.secure_url_token === null ? values : [...values, row.secure_url_token];
}

/** What a sealed value is bound to: it opens only in this field of this Source. */
function secretContext(sourceId: string, field: string): string {
  return `${field} of Source ${sourceId}`;
}
