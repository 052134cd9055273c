import type { Statement } from 'better-sqlite3';
import { setMeta, type Db } from './db.ts';
import { NameRanks } from './name-ranks.ts';
import { sealedKeyId, type SecretBox } from './secret-box.ts';
import { normalizeHost, SECRET_FIELDS, type Deployment, type SourceRecord } from '../sources/model.ts';
import type { SortKey, SourceFilter } from '../sources/source-query.ts';

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

/** A list query in the store's terms: filter values as stored (hosts normalised, labels lowercase). */
export interface SourceListing {
  filters: readonly SourceFilter[];
  sort: readonly SortKey[];
  /** Absent: every matching Source. */
  page?: { offset: number; limit: number } | undefined;
}

/** The Source that already holds a domain, named in the refusal. */
export interface DomainOwner {
  id: string;
  name: string;
}

const SORT_COLUMNS: Record<SortKey['field'], string> = { name: 'name_rank', date_deployed: 'date_deployed', enabled: 'enabled' };

/**
 * Sources in SQLite, and what makes them cheap to find at any number: `source_domains` (which Source holds
 * each custom domain and subdomain label) and each name's rank in name order, both written with the Source
 * in one transaction. Their secrets — the credentials of `SECRET_FIELDS` inside `deployment` and the
 * `secure_url_token` — are sealed here on write and opened here on read (secret-box.ts): the database holds
 * ciphertext only, and nothing above this class ever sees it.
 */
export class SourceStore {
  private readonly ranks: NameRanks;
  private readonly deleteDomains: Statement<[string]>;
  private readonly insertDomain: Statement<[string, string, string]>;
  private readonly owner: Statement<{ label: string | null; host: string | null; except: string }, DomainOwner>;

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
  ) {
    this.ranks = new NameRanks(db);
    this.ranks.fillMissing();
    this.deleteDomains = db.prepare('DELETE FROM source_domains WHERE source_id = ?');
    this.insertDomain = db.prepare('INSERT OR IGNORE INTO source_domains (kind, name, source_id) VALUES (?, ?, ?)');
    this.owner = db.prepare(
      `SELECT id, name FROM sources WHERE id <> @except AND id IN (
         SELECT source_id FROM source_domains WHERE kind = 'label' AND name = @label
         UNION ALL SELECT source_id FROM source_domains WHERE kind = 'host' AND name = @host
       ) ORDER BY created_at, rowid LIMIT 1`,
    );
  }

  all(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, rowid').all() as SourceRow[]).map((row) => this.toRecord(row));
  }

  get(id: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row && this.toRecord(row);
  }

  /** Writes the Source with its domains and name rank, in one transaction. */
  upsert(source: SourceRecord): void {
    this.db.transaction(() => {
      this.writeRow(source);
      this.ranks.assign(source.id, source.name);
      this.deleteDomains.run(source.id);
      for (const host of source.deployment.custom_domains) this.insertDomain.run('host', normalizeHost(host), source.id);
      for (const label of source.deployment.imgix_subdomains) this.insertDomain.run('label', label.toLowerCase(), source.id);
    })();
  }

  /**
   * The first-created Source other than `exceptId` that has this subdomain label, or this host as a custom
   * domain (either may be left out).
   */
  domainOwner(claim: { label?: string | undefined; host?: string | undefined }, exceptId: string): DomainOwner | undefined {
    return this.owner.get({ label: claim.label ?? null, host: claim.host ?? null, except: exceptId });
  }

  /**
   * The Sources matching every filter (exact; an array field matches when it holds the value), sorted (ties in
   * creation order), one page of them if asked, and how many match in all. Reads only the page's rows: the
   * filters, orders and page are SQL, on indexes where the filter or order has one.
   */
  list(listing: SourceListing): { records: SourceRecord[]; total: number } {
    const params: Record<string, string | number> = {};
    const conditions = listing.filters.map((filter, i) => {
      params[`f${i}`] = filter.field === 'enabled' ? Number(filter.value === 'true') : filter.value;
      return filterCondition(filter, `@f${i}`);
    });
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const order = [...listing.sort.map(({ field, descending }) => `${SORT_COLUMNS[field]} ${descending ? 'DESC' : 'ASC'}`), 'created_at', 'rowid'].join(', ');
    const { page } = listing;
    const select = `SELECT * FROM sources ${where} ORDER BY ${order}`;
    const rows = (page ? this.db.prepare(`${select} LIMIT @limit OFFSET @offset`).all({ ...params, ...page }) : this.db.prepare(select).all(params)) as SourceRow[];
    const total = page ? (this.db.prepare(`SELECT COUNT(*) AS total FROM sources ${where}`).get(params) as { total: number }).total : rows.length;
    return { records: rows.map((row) => this.toRecord(row)), total };
  }

  private writeRow(source: SourceRecord): void {
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


/** One filter as SQL; its value is bound as `param`. Field names come from the fixed list of filters, never from input. */
function filterCondition({ field }: SourceFilter, param: string): string {
  if (field === 'name') return `name = ${param}`;
  if (field === 'enabled') return `enabled = ${param}`;
  if (field === 'deployment.type') return `type = ${param}`;
  if (field === 'deployment.custom_domains') return `id IN (SELECT source_id FROM source_domains WHERE kind = 'host' AND name = ${param})`;
  if (field === 'deployment.imgix_subdomains') return `id IN (SELECT source_id FROM source_domains WHERE kind = 'label' AND name = ${param})`;
  return `json_extract(deployment, '$.${field.slice('deployment.'.length)}') = ${param}`;
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
