import type { Db } from './db.ts';
import type { Deployment, SourceRecord } from '../sources/model.ts';

interface SourceRow {
  id: string;
  name: string;
  type: string;
  enabled: number;
  deployment: string;
  secure_url_token: string | null;
  date_deployed: number;
}

export class SourceStore {
  constructor(private readonly db: Db) {}

  all(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, rowid').all() as SourceRow[]).map(toRecord);
  }

  get(id: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row && toRecord(row);
  }

  upsert(source: SourceRecord): void {
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
        deployment: JSON.stringify(source.deployment),
        secure_url_token: source.secureUrlToken ?? null,
        date_deployed: source.dateDeployed,
      });
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
}

function toRecord(row: SourceRow): SourceRecord {
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled === 1,
    deployment: JSON.parse(row.deployment) as Deployment,
    secureUrlToken: row.secure_url_token ?? undefined,
    dateDeployed: row.date_deployed,
  };
}
