import { randomUUID } from 'node:crypto';
import type { AssetKey, AssetRecord } from '../store/asset-store.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import type { TakedownRecord } from '../store/takedown-store.ts';
import type { OutboxEvent, WebhookEventType } from '../store/webhook-store.ts';

/**
 * The events Pictor reports, as the JSON every receiver gets: `{"type","timestamp","data"}`. Each is made in
 * the transaction of the change it reports (the producers take these as their outbox), so `timestamp` is
 * the moment of that change.
 */
export function webhookEvent(type: WebhookEventType, data: Record<string, unknown>, at = Date.now()): OutboxEvent {
  const body = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
  return { id: `msg_${randomUUID().replaceAll('-', '')}`, type, body, createdAt: at };
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** `purge.completed`, or `purge.failed` for a purge that ended failed; the purge's status document. */
export function purgeEvents(record: PurgeRecord): OutboxEvent[] {
  const type = record.status === 'failed' ? 'purge.failed' : 'purge.completed';
  const data = {
    purge_id: record.id,
    url: record.url || null,
    source_id: record.parentSourceId ?? (record.sourceId || null),
    match: record.match,
    tag: record.tag ?? null,
    assets: record.assets ?? null,
    status: record.status,
    origin: record.origin ?? null,
    error: record.error ?? null,
    created_at: iso(record.createdAt),
    completed_at: iso(record.completedAt),
    nodes: record.report?.nodes ?? null,
    edges: record.report?.edges ?? null,
  };
  return [webhookEvent(type, data, record.completedAt ?? Date.now())];
}

function takedownData(record: TakedownRecord): Record<string, unknown> {
  return {
    takedown_id: record.id,
    url: record.url,
    source_id: record.sourceId,
    path: record.path,
    reason: record.reason,
    created_by: record.createdBy,
    created_at: iso(record.createdAt),
    lifted_by: record.liftedBy,
    lifted_at: iso(record.liftedAt),
  };
}

export function takedownCreatedEvents(record: TakedownRecord): OutboxEvent[] {
  return [webhookEvent('takedown.created', takedownData(record), record.createdAt)];
}

export function takedownLiftedEvents(record: TakedownRecord): OutboxEvent[] {
  return [webhookEvent('takedown.lifted', takedownData(record), record.liftedAt ?? Date.now())];
}

/** `asset.refreshed`: the asset as the origin has it now (`indexed`). */
export function assetRefreshedEvents(record: AssetRecord): OutboxEvent[] {
  const data = {
    source_id: record.sourceId,
    origin_path: record.originPath,
    state: 'indexed',
    content_type: record.contentType,
    file_size: record.fileSize,
    content_hash: record.contentHash,
    date_modified: iso(record.dateModified),
  };
  return [webhookEvent('asset.refreshed', data)];
}

/** `asset.refreshed` of an asset gone from its origin (`removed` from the Asset Manager). */
export function assetRemovedEvents(key: AssetKey): OutboxEvent[] {
  return [webhookEvent('asset.refreshed', { source_id: key.sourceId, origin_path: key.originPath, state: 'removed' })];
}
