import { assetListSql, toAssetRecord, type AssetEdit, type AssetFacts, type AssetListing, type AssetRecord, type AssetRow, type AssetStore, type VideoStatus } from '../asset-store.ts';
import type { AssetKey } from '../asset-store.ts';
import { OutboxSignal, type Outbox } from '../webhook-store.ts';
import { writeReturning, type Db } from './db.ts';
import { writeOutbox } from './webhook-store.ts';

export class SqliteAssetStore implements AssetStore {
  constructor(
    private readonly db: Db,
    private readonly outbox = new OutboxSignal(),
  ) {}

  async get(sourceId: string, originPath: string): Promise<AssetRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM assets WHERE source_id = ? AND origin_path = ?').get(sourceId, originPath) as AssetRow | undefined;
    return row && toAssetRecord(row);
  }

  async index(sourceId: string, originPath: string, facts: AssetFacts, at: number, outbox?: Outbox<AssetRecord>): Promise<AssetRecord> {
    const upsert = this.db.prepare(
      `INSERT INTO assets (source_id, origin_path, media_kind, media_width, media_height, file_size, content_type, content_hash, date_created, date_modified)
         VALUES (@sourceId, @originPath, @mediaKind, @mediaWidth, @mediaHeight, @fileSize, @contentType, @contentHash, @at, @at)
         ON CONFLICT (source_id, origin_path) DO UPDATE SET
           media_kind = excluded.media_kind, media_width = excluded.media_width, media_height = excluded.media_height,
           file_size = excluded.file_size, content_type = excluded.content_type, content_hash = excluded.content_hash,
           date_modified = CASE WHEN assets.content_hash = excluded.content_hash AND assets.content_type = excluded.content_type
                                THEN assets.date_modified ELSE excluded.date_modified END
         RETURNING *`,
    );
    if (!outbox) return toAssetRecord(writeReturning<AssetRow>(upsert, { sourceId, originPath, ...facts, at })!);
    const { record, written } = this.db
      .transaction(() => {
        const indexed = toAssetRecord(writeReturning<AssetRow>(upsert, { sourceId, originPath, ...facts, at })!);
        return { record: indexed, written: writeOutbox(this.db, outbox(indexed)) };
      })
      .immediate();
    if (written > 0) this.outbox.written();
    return record;
  }

  async edit(sourceId: string, originPath: string, edit: AssetEdit, at: number): Promise<AssetRecord | undefined> {
    const sets: string[] = ['date_modified = @at'];
    const values: Record<string, unknown> = { sourceId, originPath, at };
    const set = (column: string, value: unknown): void => {
      sets.push(`${column} = @${column}`);
      values[column] = value;
    };
    if (edit.name !== undefined) set('name', edit.name);
    if (edit.description !== undefined) set('description', edit.description);
    if (edit.tags !== undefined) set('tags', JSON.stringify(edit.tags));
    if (edit.categories !== undefined) set('categories', JSON.stringify(edit.categories));
    if (edit.customFields !== undefined) set('custom_fields', JSON.stringify(edit.customFields));
    const update = this.db.prepare(`UPDATE assets SET ${sets.join(', ')} WHERE source_id = @sourceId AND origin_path = @originPath RETURNING *`);
    // The tag index changes with the tags, in their transaction: a tag purge never sees one without the other.
    const row = this.db
      .transaction(() => {
        const updated = writeReturning<AssetRow>(update, values);
        if (updated && edit.tags !== undefined) this.retag(sourceId, originPath, edit.tags);
        return updated;
      })
      .immediate();
    return row && toAssetRecord(row);
  }

  async tagged(tag: string, sourceId: string | undefined, limit: number): Promise<AssetKey[]> {
    const rows = (
      sourceId === undefined
        ? this.db.prepare('SELECT source_id, origin_path FROM asset_tags WHERE tag = ? ORDER BY source_id, origin_path LIMIT ?').all(tag, limit)
        : this.db.prepare('SELECT source_id, origin_path FROM asset_tags WHERE tag = ? AND source_id = ? ORDER BY origin_path LIMIT ?').all(tag, sourceId, limit)
    ) as { source_id: string; origin_path: string }[];
    return rows.map((row) => ({ sourceId: row.source_id, originPath: row.origin_path }));
  }

  private retag(sourceId: string, originPath: string, tags: readonly string[]): void {
    this.db.prepare('DELETE FROM asset_tags WHERE source_id = ? AND origin_path = ?').run(sourceId, originPath);
    const insert = this.db.prepare('INSERT OR IGNORE INTO asset_tags (tag, source_id, origin_path) VALUES (?, ?, ?)');
    for (const tag of tags) insert.run(tag, sourceId, originPath);
  }

  async setVideoStatus(sourceId: string, originPath: string, status: VideoStatus | null): Promise<boolean> {
    return this.db.prepare('UPDATE assets SET video_status = ? WHERE source_id = ? AND origin_path = ?').run(status, sourceId, originPath).changes === 1;
  }

  async remove(sourceId: string, originPath: string, outbox?: Outbox<AssetKey>): Promise<boolean> {
    const { removed, written } = this.db
      .transaction(() => {
        const gone = this.db.prepare('DELETE FROM assets WHERE source_id = ? AND origin_path = ?').run(sourceId, originPath).changes === 1;
        return { removed: gone, written: gone && outbox ? writeOutbox(this.db, outbox({ sourceId, originPath })) : 0 };
      })
      .immediate();
    if (written > 0) this.outbox.written();
    return removed;
  }

  async list(listing: AssetListing): Promise<AssetRecord[]> {
    const params: unknown[] = [];
    const { where, order } = assetListSql(listing, (value) => (params.push(value), '?'));
    params.push(listing.limit);
    return (this.db.prepare(`SELECT * FROM assets WHERE ${where} ORDER BY ${order} LIMIT ?`).all(...params) as AssetRow[]).map(toAssetRecord);
  }
}
