import type { SecretBox } from '../secret-box.ts';
import {
  deliveryFromRows,
  webhookFromRow,
  webhookSecretContext,
  type AttemptRow,
  type ClaimedDelivery,
  type DeliveryAttempt,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryRow,
  type NewWebhook,
  type OutboxEvent,
  type OutboxSignal,
  type WebhookRecord,
  type WebhookRow,
  type WebhookStore,
} from '../webhook-store.ts';
import type { Db } from './db.ts';

/** How often SQLite's watch looks for deliveries written by another process on the data directory. */
const WATCH_INTERVAL_MS = 1000;

/**
 * The outbox write, inside the caller's transaction: one delivery per event and webhook subscribed to its
 * type, due at once. Answers how many were written (the caller signals them once committed).
 */
export function writeOutbox(db: Db, events: readonly OutboxEvent[]): number {
  if (events.length === 0) return 0;
  const insert = db.prepare(
    `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, state, created_at, window_start, next_attempt_at)
     SELECT 'dlv_' || lower(hex(randomblob(12))), webhooks.id, @id, @type, @body, 'pending', @createdAt, @createdAt, @createdAt
     FROM webhooks WHERE EXISTS (SELECT 1 FROM json_each(webhooks.events) WHERE value = @type)
     ON CONFLICT (webhook_id, event_id) DO NOTHING`,
  );
  let written = 0;
  for (const event of events) written += insert.run(event).changes;
  return written;
}

/** Whether a webhook subscribes to one of these events' types: then writing them writes deliveries. */
export function anySubscribed(db: Db, events: readonly OutboxEvent[]): boolean {
  if (events.length === 0) return false;
  const types = JSON.stringify([...new Set(events.map((event) => event.type))]);
  const found = db
    .prepare('SELECT 1 FROM webhooks WHERE EXISTS (SELECT 1 FROM json_each(webhooks.events) WHERE value IN (SELECT value FROM json_each(?))) LIMIT 1')
    .get(types);
  return found !== undefined;
}

interface ClaimRow extends DeliveryRow {
  url: string;
  secret: string;
  body: string;
  attempts: number;
}

export class SqliteWebhookStore implements WebhookStore {
  private box: SecretBox | undefined;

  constructor(
    private readonly db: Db,
    private readonly keys: SecretBox | (() => SecretBox),
    private readonly signal: OutboxSignal,
  ) {}

  private get secrets(): SecretBox {
    return (this.box ??= typeof this.keys === 'function' ? this.keys() : this.keys);
  }

  async add(webhook: NewWebhook): Promise<WebhookRecord> {
    const secret = this.secrets.seal(webhook.secret, webhookSecretContext(webhook.id));
    this.db
      .prepare('INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(webhook.id, webhook.url, JSON.stringify(webhook.events), secret, webhook.createdAt);
    return { id: webhook.id, url: webhook.url, events: [...webhook.events], createdAt: webhook.createdAt };
  }

  async list(): Promise<WebhookRecord[]> {
    return (this.db.prepare('SELECT * FROM webhooks ORDER BY created_at, rowid').all() as WebhookRow[]).map(webhookFromRow);
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as WebhookRow | undefined;
    return row && webhookFromRow(row);
  }

  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes === 1;
  }

  async emit(events: readonly OutboxEvent[]): Promise<number> {
    const written = this.db.transaction(() => writeOutbox(this.db, events)).immediate();
    if (written > 0) this.signal.written();
    return written;
  }

  async deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    const rows = this.db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(webhookId, limit) as DeliveryRow[];
    return this.withAttempts(rows);
  }

  async delivery(webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND id = ?').get(webhookId, deliveryId) as DeliveryRow | undefined;
    return row && this.withAttempts([row])[0];
  }

  async claimDue(claim: DeliveryClaim): Promise<ClaimedDelivery[]> {
    const rows = this.db
      .transaction(() => {
        const due = this.db
          .prepare(
            `SELECT webhook_deliveries.*, webhooks.url, webhooks.secret FROM webhook_deliveries JOIN webhooks ON webhooks.id = webhook_id
             WHERE state = 'pending' AND next_attempt_at <= @now AND claimed_until <= @now ORDER BY next_attempt_at LIMIT @limit`,
          )
          .all(claim) as ClaimRow[];
        const take = this.db.prepare('UPDATE webhook_deliveries SET claimed_by = ?, claimed_until = ? WHERE id = ?');
        for (const row of due) take.run(claim.node, claim.now + claim.leaseMs, row.id);
        return due;
      })
      .immediate();
    return rows.map((row) => ({
      id: row.id,
      webhookId: row.webhook_id,
      eventId: row.event_id,
      url: row.url,
      secret: this.secrets.open(row.secret, webhookSecretContext(row.webhook_id)),
      body: row.body,
      createdAt: Number(row.created_at),
      windowStart: Number(row.window_start),
      attempts: row.attempts,
    }));
  }

  async recordAttempt(deliveryId: string, node: string, attempt: DeliveryAttempt, outcome: DeliveryOutcome): Promise<boolean> {
    return this.db
      .transaction(() => {
        const updated = this.db
          .prepare(
            `UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, attempts = attempts + 1, claimed_by = NULL, claimed_until = 0
             WHERE id = ? AND claimed_by = ?`,
          )
          .run(outcome.state, outcome.nextAttemptAt, deliveryId, node);
        if (updated.changes === 0) return false;
        this.db.prepare('INSERT INTO webhook_attempts (delivery_id, at, status, error, response) VALUES (?, ?, ?, ?, ?)').run(
          deliveryId,
          attempt.at,
          attempt.status,
          attempt.error,
          attempt.response,
        );
        return true;
      })
      .immediate();
  }

  async releaseClaims(_node: string): Promise<number> {
    return this.db.prepare("UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = 0 WHERE state = 'pending' AND claimed_by IS NOT NULL").run().changes;
  }

  async redeliver(webhookId: string, deliveryId: string, now: number): Promise<boolean> {
    const updated = this.db
      .prepare(
        `UPDATE webhook_deliveries SET state = 'pending', window_start = @now, next_attempt_at = @now, claimed_by = NULL, claimed_until = 0
         WHERE id = @deliveryId AND webhook_id = @webhookId`,
      )
      .run({ now, deliveryId, webhookId });
    if (updated.changes === 1) this.signal.written();
    return updated.changes === 1;
  }

  /** One statement, so one transaction: a redelivery cannot come between the choice and the deletion. */
  async deleteEnded(before: number, limit: number): Promise<number> {
    return this.db
      .prepare(
        `DELETE FROM webhook_deliveries WHERE id IN (
           SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND next_attempt_at < ? ORDER BY next_attempt_at LIMIT ?)`,
      )
      .run(before, limit).changes;
  }

  async nextDue(): Promise<number | undefined> {
    const row = this.db.prepare("SELECT min(max(next_attempt_at, claimed_until)) AS due FROM webhook_deliveries WHERE state = 'pending'").get() as {
      due: number | null;
    };
    return row.due ?? undefined;
  }

  async watch(onWritten: () => void): Promise<() => Promise<void>> {
    const off = this.signal.on(onWritten);
    // Another process on the data directory (the CLI) may write deliveries; a second is soon enough for those.
    const timer = setInterval(onWritten, WATCH_INTERVAL_MS);
    timer.unref();
    return async () => {
      off();
      clearInterval(timer);
    };
  }

  private withAttempts(rows: readonly DeliveryRow[]): DeliveryRecord[] {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const attempts = this.db
      .prepare(`SELECT * FROM webhook_attempts WHERE delivery_id IN (${ids.map(() => '?').join(', ')}) ORDER BY at, rowid`)
      .all(...ids) as AttemptRow[];
    return rows.map((row) => deliveryFromRows(row, attempts));
  }
}
