import { assetListSql, toAssetRecord, type AssetEdit, type AssetFacts, type AssetListing, type AssetRecord, type AssetRow, type AssetStore, type VideoStatus } from '../asset-store.ts';
import type { AssetKey } from '../asset-store.ts';
import { OutboxSignal, type Outbox } from '../webhook-store.ts';
import { withTransaction, type PgPool } from './database.ts';
import { writeOutbox } from './webhook-store.ts';

interface AssetKeyRow {
  source_id: string;
  origin_path: string;
}

/** The Asset Manager's index in PostgreSQL (the `assets` table of PG_MIGRATIONS), shared by every node. */
export class PgAssetStore implements AssetStore {
  constructor(
    private readonly pool: PgPool,
    private readonly outbox = new OutboxSignal(),
  ) {}

  async get(sourceId: string, originPath: string): Promise<AssetRecord | undefined> {
    const { rows } = await this.pool.query<AssetRow>('SELECT * FROM assets WHERE source_id = $1 AND origin_path = $2', [sourceId, originPath]);
    return rows[0] && toAssetRecord(rows[0]);
  }

  async index(sourceId: string, originPath: string, facts: AssetFacts, at: number, outbox?: Outbox<AssetRecord>): Promise<AssetRecord> {
    const { record, written } = await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<AssetRow>(
        `INSERT INTO assets (source_id, origin_path, media_kind, media_width, media_height, file_size, content_type, content_hash, date_created, date_modified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (source_id, origin_path) DO UPDATE SET
           media_kind = excluded.media_kind, media_width = excluded.media_width, media_height = excluded.media_height,
           file_size = excluded.file_size, content_type = excluded.content_type, content_hash = excluded.content_hash,
           date_modified = CASE WHEN assets.content_hash = excluded.content_hash AND assets.content_type = excluded.content_type
                                THEN assets.date_modified ELSE excluded.date_modified END
         RETURNING *`,
        [sourceId, originPath, facts.mediaKind, facts.mediaWidth, facts.mediaHeight, facts.fileSize, facts.contentType, facts.contentHash, at],
      );
      const indexed = toAssetRecord(rows[0]!);
      return { record: indexed, written: outbox ? await writeOutbox(client, outbox(indexed)) : 0 };
    });
    if (written > 0) this.outbox.written();
    return record;
  }

  async edit(sourceId: string, originPath: string, edit: AssetEdit, at: number): Promise<AssetRecord | undefined> {
    const values: unknown[] = [sourceId, originPath, at];
    const sets = ['date_modified = $3'];
    const set = (column: string, value: unknown, cast = ''): void => {
      values.push(value);
      sets.push(`${column} = $${values.length}${cast}`);
    };
    if (edit.name !== undefined) set('name', edit.name);
    if (edit.description !== undefined) set('description', edit.description);
    if (edit.tags !== undefined) set('tags', JSON.stringify(edit.tags), '::jsonb');
    if (edit.categories !== undefined) set('categories', JSON.stringify(edit.categories), '::jsonb');
    if (edit.customFields !== undefined) set('custom_fields', JSON.stringify(edit.customFields), '::jsonb');
    // The tag index changes with the tags, in their transaction: a tag purge never sees one without the other.
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<AssetRow>(`UPDATE assets SET ${sets.join(', ')} WHERE source_id = $1 AND origin_path = $2 RETURNING *`, values);
      if (rows[0] && edit.tags !== undefined) {
        await client.query('DELETE FROM asset_tags WHERE source_id = $1 AND origin_path = $2', [sourceId, originPath]);
        await client.query(
          'INSERT INTO asset_tags (tag, source_id, origin_path) SELECT DISTINCT tag, $2, $3 FROM unnest($1::text[]) AS tag ON CONFLICT DO NOTHING',
          [edit.tags, sourceId, originPath],
        );
      }
      return rows[0] && toAssetRecord(rows[0]);
    });
  }

  async tagged(tag: string, sourceId: string | undefined, limit: number): Promise<AssetKey[]> {
    const { rows } =
      sourceId === undefined
        ? await this.pool.query<AssetKeyRow>('SELECT source_id, origin_path FROM asset_tags WHERE tag = $1 ORDER BY source_id, origin_path LIMIT $2', [tag, limit])
        : await this.pool.query<AssetKeyRow>('SELECT source_id, origin_path FROM asset_tags WHERE tag = $1 AND source_id = $2 ORDER BY origin_path LIMIT $3', [
            tag,
            sourceId,
            limit,
          ]);
    return rows.map((row) => ({ sourceId: row.source_id, originPath: row.origin_path }));
  }

  async setVideoStatus(sourceId: string, originPath: string, status: VideoStatus | null): Promise<boolean> {
    const result = await this.pool.query('UPDATE assets SET video_status = $1 WHERE source_id = $2 AND origin_path = $3', [status, sourceId, originPath]);
    return result.rowCount === 1;
  }

  async remove(sourceId: string, originPath: string, outbox?: Outbox<AssetKey>): Promise<boolean> {
    const { removed, written } = await withTransaction(this.pool, async (client) => {
      const gone = (await client.query('DELETE FROM assets WHERE source_id = $1 AND origin_path = $2', [sourceId, originPath])).rowCount === 1;
      return { removed: gone, written: gone && outbox ? await writeOutbox(client, outbox({ sourceId, originPath })) : 0 };
    });
    if (written > 0) this.outbox.written();
    return removed;
  }

  async list(listing: AssetListing): Promise<AssetRecord[]> {
    const params: unknown[] = [];
    const { where, order } = assetListSql(listing, (value) => (params.push(value), `$${params.length}`));
    params.push(listing.limit);
    const { rows } = await this.pool.query<AssetRow>(`SELECT * FROM assets WHERE ${where} ORDER BY ${order} LIMIT $${params.length}`, params);
    return rows.map(toAssetRecord);
  }
}
