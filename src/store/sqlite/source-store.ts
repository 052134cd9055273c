import type { Statement } from 'better-sqlite3';
import { getMeta, setMeta, type Db } from './db.ts';
import { NameRanks } from './name-ranks.ts';
import { edgeSealingKeyIds, openEdgeSecrets, resealEdgeSecrets } from '../edge-secrets.ts';
import { columnKeyIds, openColumns, resealColumns } from './sealed-columns.ts';
import type { SecretBox } from '../secret-box.ts';
import { openSource, refuseOtherSealingKey, SEALING_KEY_META, sealingKeyIds, sealSource, staleSecrets } from '../source-secrets.ts';
import type { DomainOwner, SourceChangeListener, SourceListing, SourceStore, SourceWrite } from '../stores.ts';
import { normalizeHost, type SortKey, type SourceRecord } from '../source-record.ts';
import { filterCondition } from '../source-filters.ts';

/**
 * How often another process's writes are looked for: SQLite's `data_version`, one read of shared memory, so it
 * can be often (a request arriving right after a CLI write should find it applied).
 */
const WATCH_INTERVAL_MS = 100;

interface SourceRow {
  id: string;
  name: string;
  type: string;
  enabled: number;
  deployment: string;
  secure_url_token: string | null;
  date_deployed: number;
}

const SORT_COLUMNS: Record<SortKey['field'], string> = { name: 'name_rank', date_deployed: 'date_deployed', enabled: 'enabled' };

/**
 * Sources in SQLite, and what makes them cheap to find at any number: `source_domains` (which Source holds
 * each custom domain and subdomain label) and each name's rank in name order, both written with the Source
 * in one transaction. Their secrets — the credentials of `SECRET_FIELDS` inside `deployment` and the
 * `secure_url_token` — are sealed here on write and opened here on read (secret-box.ts): the database holds
 * ciphertext only, and nothing above this class ever sees it.
 */
export class SqliteSourceStore implements SourceStore {
  private readonly ranks: NameRanks;
  private readonly deleteDomains: Statement<[string]>;
  private readonly insertDomain: Statement<[string, string, string]>;
  private readonly owner: Statement<{ label: string | null; host: string | null; except: string }, DomainOwner>;

  private box: SecretBox | undefined;

  /** `secrets` may be a function: the keys are then read when a Source is first read or written. */
  constructor(
    private readonly db: Db,
    private readonly keys: SecretBox | (() => SecretBox),
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

  private get secrets(): SecretBox {
    return (this.box ??= typeof this.keys === 'function' ? this.keys() : this.keys);
  }

  async checkKeys(): Promise<void> {
    await this.all();
    openColumns(this.db, this.secrets);
    openEdges(this.db, this.secrets);
  }

  async all(): Promise<SourceRecord[]> {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, rowid').all() as SourceRow[]).map((row) => this.toRecord(row));
  }

  async get(id: string): Promise<SourceRecord | undefined> {
    return this.read(id);
  }

  private read(id: string): SourceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row && this.toRecord(row);
  }

  async upsert(source: SourceRecord): Promise<void> {
    this.write(source);
  }

  /** BEGIN IMMEDIATE takes the write lock first, so no other process writes between the check and the write. */
  async saveChecked(id: string, build: (current: SourceRecord | undefined) => SourceWrite): Promise<SourceRecord> {
    return this.db
      .transaction(() => {
        const { record, claims } = build(this.read(id));
        for (const claim of claims) {
          const owner = this.owner.get({ label: claim.label ?? null, host: claim.host ?? null, except: record.id });
          if (owner) throw claim.refuse(owner);
        }
        this.write(record);
        return record;
      })
      .immediate();
  }

  /** Writes the Source with its domains and name rank, in one transaction. */
  private write(source: SourceRecord): void {
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
  async domainOwner(claim: { label?: string | undefined; host?: string | undefined }, exceptId: string): Promise<DomainOwner | undefined> {
    return this.owner.get({ label: claim.label ?? null, host: claim.host ?? null, except: exceptId });
  }

  /**
   * The Sources matching every filter (exact; an array field matches when it holds the value), sorted (ties in
   * creation order), one page of them if asked, and how many match in all. Reads only the page's rows: the
   * filters, orders and page are SQL, on indexes where the filter or order has one.
   */
  async list(listing: SourceListing): Promise<{ records: SourceRecord[]; total: number }> {
    const params: Record<string, string | number> = {};
    const conditions = listing.filters.map((filter, i) => {
      params[`f${i}`] = filter.field === 'enabled' ? Number(filter.value === 'true') : filter.value;
      return filterCondition(filter, `@f${i}`, (name) => `json_extract(deployment, '$.${name}')`);
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
    const row = sealSource(source, this.secrets);
    this.db
      .prepare(
        `INSERT INTO sources (id, name, type, enabled, deployment, secure_url_token, date_deployed, created_at)
         VALUES (@id, @name, @type, @enabled, @deployment, @secure_url_token, @date_deployed, @date_deployed)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, enabled = excluded.enabled,
           deployment = excluded.deployment, secure_url_token = excluded.secure_url_token, date_deployed = excluded.date_deployed`,
      )
      .run({ ...row, enabled: row.enabled ? 1 : 0 });
  }

  /**
   * Seals every secret with the current key, in one transaction: the Sources' (values stored in plain text by
   * a version before encryption, and values sealed with an older key) and the sealed columns'
   * (sealed-columns.ts). Opening each one on the way proves the keys are the right ones (a SecretKeyError
   * otherwise). Freed pages are zeroed and the log is checkpointed, so the plain text does not linger in the
   * file. Records the current key's id (SEALING_KEY_META).
   */
  async sealAll(): Promise<{ sealed: number; resealed: number }> {
    const counts = { sealed: 0, resealed: 0 };
    this.db.pragma('secure_delete = ON');
    try {
      this.db.transaction(() => {
        for (const row of this.db.prepare('SELECT * FROM sources').all() as SourceRow[]) {
          const stale = staleSecrets(row, this.secrets);
          counts.sealed += stale.sealed;
          counts.resealed += stale.resealed;
          // Opens every value (also those already current) and seals again whatever changed.
          const record = this.toRecord(row);
          if (stale.sealed + stale.resealed > 0) this.write(record);
        }
        counts.resealed += resealColumns(this.db, this.secrets);
        counts.resealed += resealEdges(this.db, this.secrets);
        refuseOtherSealingKey(getMeta(this.db, SEALING_KEY_META), this.secrets, false);
        setMeta(this.db, SEALING_KEY_META, this.secrets.currentKeyId);
      }).immediate();
      if (counts.sealed + counts.resealed > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.pragma('secure_delete = OFF');
    }
    return counts;
  }

  /**
   * SQLite's `data_version` changes whenever another connection (the CLI, say) commits, and never for this
   * one's own writes; it cannot say which Source changed, so a change asks for everything to be read again.
   */
  async watch(onChange: SourceChangeListener): Promise<() => Promise<void>> {
    const version = (): number => this.db.pragma('data_version', { simple: true }) as number;
    let seen = version();
    const timer = setInterval(() => {
      if (!this.db.open) return;
      const now = version();
      if (now === seen) return;
      seen = now;
      onChange(undefined);
    }, WATCH_INTERVAL_MS);
    timer.unref();
    return async () => clearInterval(timer);
  }

  private toRecord(row: SourceRow): SourceRecord {
    return openSource({ ...row, enabled: row.enabled === 1 }, this.secrets);
  }
}


/** The ids of the keys that sealed the secrets stored, of Sources and of the sealed columns (without opening them). */
export function storedKeyIds(db: Db): Set<string> {
  const sources = sealingKeyIds(db.prepare('SELECT deployment, secure_url_token FROM sources').all() as SourceRow[]);
  const edges = edgeSealingKeyIds((db.prepare('SELECT secrets FROM edges').all() as EdgeSecretsRow[]).map((row) => row.secrets));
  return columnKeyIds(db, new Set([...sources, ...edges]));
}

interface EdgeSecretsRow {
  name: string;
  secrets: string;
}

function edgesWithSecrets(db: Db): EdgeSecretsRow[] {
  return db.prepare("SELECT name, secrets FROM edges WHERE secrets != '{}'").all() as EdgeSecretsRow[];
}

/**
 * Edge secrets (store/edge-secrets.ts) are sealed with the same keys as the Sources' and the sealed columns':
 * opened (proving the keys) and sealed again with the current key, inside the caller's transaction. How many edges.
 */
function resealEdges(db: Db, box: SecretBox): number {
  let count = 0;
  for (const edge of edgesWithSecrets(db)) {
    const resealed = resealEdgeSecrets(edge.name, edge.secrets, box);
    if (resealed === undefined) continue;
    count += db.prepare('UPDATE edges SET secrets = ? WHERE name = ? AND secrets = ?').run(resealed, edge.name, edge.secrets).changes;
  }
  return count;
}

/** Opens every edge secret: a SecretKeyError when the keys cannot. */
function openEdges(db: Db, box: SecretBox): void {
  for (const edge of edgesWithSecrets(db)) openEdgeSecrets(edge.name, edge.secrets, box);
}
