import { listen } from './listener.ts';
import { normalizeHost, type SortKey, type SourceRecord } from '../source-record.ts';
import { filterCondition } from '../source-filters.ts';
import { edgeSealingKeyIds, openEdgeSecrets, resealEdgeSecrets } from '../edge-secrets.ts';
import type { SecretBox } from '../secret-box.ts';
import { openSource, refuseOtherSealingKey, SEALING_KEY_META, sealSource, staleSecrets, type StoredSource } from '../source-secrets.ts';
import type { DomainOwner, SourceChangeListener, SourceListing, SourceStore, SourceWrite } from '../stores.ts';
import { LOCKS, withTransaction, type PgClient, type PgPool } from './database.ts';
import { openColumns, resealColumns } from './sealed-columns.ts';

/** The channel of Source changes; the payload is the id of the Source written. */
export const SOURCES_CHANNEL = 'pictor_sources';

interface SourceRow {
  id: string;
  name: string;
  type: string;
  enabled: boolean;
  deployment: string;
  secure_url_token: string | null;
  date_deployed: string;
  created_at: string;
  created_seq: string;
}

const COLUMNS = 'id, name, type, enabled, deployment::text AS deployment, secure_url_token, date_deployed, created_at, created_seq';
/** Names sort by the collation of `compareSourceNames` (the migration that creates `source_names` says how). */
const SORT_COLUMNS: Record<SortKey['field'], string> = { name: 'name COLLATE source_names', date_deployed: 'date_deployed', enabled: 'enabled' };

type Queryable = Pick<PgPool, 'query'> | PgClient;

/**
 * Sources in PostgreSQL, shared by every node. Every write holds LOCKS.sources for its transaction, so a
 * domain check and the write it guards are never interleaved with another node's, and sends NOTIFY
 * `pictor_sources` with the Source's id in the same transaction: every node's registry reloads it once it
 * is committed. Secrets are sealed and opened here as in SQLite (source-secrets.ts).
 */
export class PgSourceStore implements SourceStore {
  constructor(
    private readonly pool: PgPool,
    private readonly url: string,
    /** The keys, read when a Source is first read or written (postgres/stores.ts). */
    private readonly secrets: () => Promise<SecretBox>,
  ) {}

  async checkKeys(): Promise<void> {
    await this.all();
    const box = await this.secrets();
    await openColumns(this.pool, box);
    for (const edge of await edgesWithSecrets(this.pool)) openEdgeSecrets(edge.name, edge.secrets, box);
  }

  async all(): Promise<SourceRecord[]> {
    const { rows } = await this.pool.query<SourceRow>(`SELECT ${COLUMNS} FROM sources ORDER BY created_at, created_seq`);
    const box = await this.secrets();
    return rows.map((row) => toRecord(row, box));
  }

  async get(id: string): Promise<SourceRecord | undefined> {
    return this.read(this.pool, id);
  }

  async domainOwner(claim: { label?: string | undefined; host?: string | undefined }, exceptId: string): Promise<DomainOwner | undefined> {
    return owner(this.pool, claim, exceptId);
  }

  async upsert(record: SourceRecord): Promise<void> {
    await this.locked(async (client) => this.write(client, record));
  }

  async saveChecked(id: string, build: (current: SourceRecord | undefined) => SourceWrite): Promise<SourceRecord> {
    return this.locked(async (client) => {
      const { record, claims } = build(await this.read(client, id));
      for (const claim of claims) {
        const holder = await owner(client, claim, record.id);
        if (holder) throw claim.refuse(holder);
      }
      await this.write(client, record);
      return record;
    });
  }

  async list(listing: SourceListing): Promise<{ records: SourceRecord[]; total: number }> {
    const params: unknown[] = [];
    const conditions = listing.filters.map((filter) => {
      params.push(filter.field === 'enabled' ? filter.value === 'true' : filter.value);
      return filterCondition(filter, `$${params.length}`, (name) => `deployment ->> '${name}'`);
    });
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { page } = listing;
    const order = [...listing.sort.map(({ field, descending }) => `${SORT_COLUMNS[field]} ${descending ? 'DESC' : 'ASC'}`), 'created_at', 'created_seq'].join(', ');
    const select = `SELECT ${COLUMNS} FROM sources ${where} ORDER BY ${order}`;
    const { rows } = page
      ? await this.pool.query<SourceRow>(`${select} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, page.limit, page.offset])
      : await this.pool.query<SourceRow>(select, params);
    const total = page ? Number((await this.pool.query<{ total: string }>(`SELECT COUNT(*) AS total FROM sources ${where}`, params)).rows[0]!.total) : rows.length;
    const box = await this.secrets();
    return { records: rows.map((row) => toRecord(row, box)), total };
  }

  async sealAll(): Promise<{ sealed: number; resealed: number }> {
    const box = await this.secrets();
    return this.locked(async (client) => {
      const counts = { sealed: 0, resealed: 0 };
      const { rows } = await client.query<SourceRow>(`SELECT ${COLUMNS} FROM sources`);
      for (const row of rows) {
        const stale = staleSecrets(row, box);
        counts.sealed += stale.sealed;
        counts.resealed += stale.resealed;
        // Opens every value (also those already current) and seals again whatever changed.
        const record = toRecord(row, box);
        if (stale.sealed + stale.resealed > 0) await this.write(client, record);
      }
      counts.resealed += await resealColumns(client, box);
      counts.resealed += await resealEdges(client, box);
      const recorded = await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [SEALING_KEY_META]);
      refuseOtherSealingKey(recorded.rows[0]?.value, box, true);
      await client.query(
        'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value IS DISTINCT FROM excluded.value',
        [SEALING_KEY_META, box.currentKeyId],
      );
      return counts;
    });
  }

  /** Every Source is read again after the LISTEN connection was lost: notifications sent meanwhile are gone. */
  async watch(onChange: SourceChangeListener): Promise<() => Promise<void>> {
    const listening = await listen(this.url, [SOURCES_CHANNEL], (_channel, payload) => onChange(payload || undefined), {
      onReconnected: () => onChange(undefined),
    });
    return () => listening.close();
  }

  /** A transaction holding LOCKS.sources: one Source writer at a time across the cluster. */
  private async locked<T>(fn: (client: PgClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.sources]);
      return fn(client);
    });
  }

  private async read(db: Queryable, id: string): Promise<SourceRecord | undefined> {
    const { rows } = await db.query<SourceRow>(`SELECT ${COLUMNS} FROM sources WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0], await this.secrets());
  }

  /** The row, its domains, and the notification, inside the caller's transaction. */
  private async write(client: PgClient, source: SourceRecord): Promise<void> {
    const row = sealSource(source, await this.secrets());
    await client.query(
      `INSERT INTO sources (id, name, type, enabled, deployment, secure_url_token, date_deployed, created_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $7)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, enabled = excluded.enabled,
         deployment = excluded.deployment, secure_url_token = excluded.secure_url_token, date_deployed = excluded.date_deployed`,
      [row.id, row.name, row.type, row.enabled, row.deployment, row.secure_url_token, row.date_deployed],
    );
    await client.query('DELETE FROM source_domains WHERE source_id = $1', [source.id]);
    const hosts = source.deployment.custom_domains.map(normalizeHost);
    const labels = source.deployment.imgix_subdomains.map((label) => label.toLowerCase());
    const kinds = [...hosts.map(() => 'host'), ...labels.map(() => 'label')];
    const names = [...hosts, ...labels];
    if (kinds.length > 0) {
      await client.query(
        `INSERT INTO source_domains (kind, name, source_id) SELECT kind, name, $3 FROM unnest($1::text[], $2::text[]) AS domain (kind, name)
         ON CONFLICT DO NOTHING`,
        [kinds, names, source.id],
      );
    }
    await client.query('SELECT pg_notify($1, $2)', [SOURCES_CHANNEL, source.id]);
  }

}

function toRecord(row: SourceRow, secrets: SecretBox): SourceRecord {
  const stored: StoredSource = { ...row, date_deployed: Number(row.date_deployed) };
  return openSource(stored, secrets);
}

async function owner(db: Queryable, claim: { label?: string | undefined; host?: string | undefined }, exceptId: string): Promise<DomainOwner | undefined> {
  const { rows } = await db.query<DomainOwner>(
    `SELECT id, name FROM sources WHERE id <> $3 AND id IN (
       SELECT source_id FROM source_domains WHERE kind = 'label' AND name = $1
       UNION ALL SELECT source_id FROM source_domains WHERE kind = 'host' AND name = $2
     ) ORDER BY created_at, created_seq LIMIT 1`,
    [claim.label ?? null, claim.host ?? null, exceptId],
  );
  return rows[0];
}


/** The sealed values' rows, for the key ids in use (secret-keys.ts), without opening them. */
export async function storedSecretRows(pool: PgPool): Promise<Pick<StoredSource, 'deployment' | 'secure_url_token'>[]> {
  return (await pool.query<{ deployment: string; secure_url_token: string | null }>('SELECT deployment::text AS deployment, secure_url_token FROM sources')).rows;
}

/** The ids of the keys that sealed the edges' secrets (store/edge-secrets.ts). */
export async function edgeKeyIds(pool: PgPool): Promise<Set<string>> {
  return edgeSealingKeyIds((await pool.query<{ secrets: Record<string, string> }>('SELECT secrets FROM edges')).rows.map((row) => row.secrets));
}

interface EdgeSecretsRow {
  name: string;
  secrets: Record<string, string>;
}

async function edgesWithSecrets(db: Pick<PgPool, 'query'> | PgClient, lock = ''): Promise<EdgeSecretsRow[]> {
  return (await db.query<EdgeSecretsRow>(`SELECT name, secrets FROM edges WHERE secrets != '{}' ${lock}`)).rows;
}

/**
 * Edge secrets (store/edge-secrets.ts) are sealed with the same keys as the Sources' and the sealed columns':
 * opened (proving the keys) and sealed again with the current key, inside the caller's transaction. How many edges.
 */
async function resealEdges(client: PgClient, box: SecretBox): Promise<number> {
  let count = 0;
  for (const edge of await edgesWithSecrets(client, 'FOR UPDATE')) {
    const resealed = resealEdgeSecrets(edge.name, edge.secrets, box);
    if (resealed === undefined) continue;
    count += (await client.query('UPDATE edges SET secrets = $1 WHERE name = $2', [resealed, edge.name])).rowCount ?? 0;
  }
  return count;
}
