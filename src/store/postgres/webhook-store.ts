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
import { withTransaction, type PgClient, type PgPool } from './database.ts';
import { listen } from './listener.ts';

/** The channel every node's delivery worker listens on: deliveries were written (or made due again). */
export const WEBHOOKS_CHANNEL = 'pictor_webhooks';

/**
 * The outbox write, inside the caller's transaction: one delivery per event and webhook subscribed to its
 * type, due at once, in one statement for all the events, and a NOTIFY that every node hears once the
 * transaction commits. Answers how many.
 */
export async function writeOutbox(client: PgClient, events: readonly OutboxEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const inserted = await client.query(deliveriesInsert(1, ''), outboxParams(events.map((event) => ({ subject: '', event }))));
  const written = inserted.rowCount ?? 0;
  if (written > 0) await client.query(`NOTIFY ${WEBHOOKS_CHANNEL}`);
  return written;
}

/** An event, and what it is about (the key of the row it reports on: outboxStep's filter). */
export interface SubjectEvent {
  subject: string;
  event: OutboxEvent;
}

/** outboxStep's parameters for `events`: five arrays. */
export function outboxParams(events: readonly SubjectEvent[]): unknown[] {
  return [
    events.map(({ event }) => event.id),
    events.map(({ event }) => event.type),
    events.map(({ event }) => event.body),
    events.map(({ event }) => event.createdAt),
    events.map(({ subject }) => subject),
  ];
}

/**
 * The outbox write as steps of a statement that also makes the change the events report, so that both commit
 * together in one round trip (purge-log.ts): CTEs named `written` (the deliveries) and `signalled` (the
 * NOTIFY, when any was written), to put after the change's own CTE. Its parameters start at `$first`
 * (outboxParams); only the events whose subject is in `subjects` (a query of one text column) are written.
 */
export function outboxStep(first: number, subjects: string): string {
  return `written AS (${deliveriesInsert(first, `WHERE e.subject IN (${subjects})`)} RETURNING 1),
    signalled AS (SELECT pg_notify('${WEBHOOKS_CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM written))`;
}

function deliveriesInsert(first: number, filter: string): string {
  const p = (i: number): string => `$${first + i}`;
  return `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, state, created_at, window_start, next_attempt_at)
     SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), webhooks.id, e.id, e.type, e.body, 'pending',
            e.created_at, e.created_at, e.created_at
     FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bigint[], ${p(4)}::text[]) WITH ORDINALITY AS e(id, type, body, created_at, subject, n)
     JOIN webhooks ON webhooks.events ? e.type
     ${filter}
     ORDER BY e.n, webhooks.id
     ON CONFLICT (webhook_id, event_id) DO NOTHING`;
}

interface ClaimRow extends DeliveryRow {
  url: string;
  secret: string;
  body: string;
  attempts: number;
}

/** Webhooks in PostgreSQL, shared by every node; a delivery is claimed with FOR UPDATE SKIP LOCKED and a lease. */
export class PgWebhookStore implements WebhookStore {
  constructor(
    private readonly pool: PgPool,
    /** The database's URL, for the LISTEN connection of `watch`. */
    private readonly url: string,
    private readonly secrets: () => Promise<SecretBox>,
    private readonly signal: OutboxSignal,
  ) {}

  async add(webhook: NewWebhook): Promise<WebhookRecord> {
    const secret = (await this.secrets()).seal(webhook.secret, webhookSecretContext(webhook.id));
    await this.pool.query('INSERT INTO webhooks (id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5)', [
      webhook.id,
      webhook.url,
      JSON.stringify(webhook.events),
      secret,
      webhook.createdAt,
    ]);
    return { id: webhook.id, url: webhook.url, events: [...webhook.events], createdAt: webhook.createdAt };
  }

  async list(): Promise<WebhookRecord[]> {
    return (await this.pool.query<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id')).rows.map(webhookFromRow);
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    const row = (await this.pool.query<WebhookRow>('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0];
    return row && webhookFromRow(row);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.pool.query('DELETE FROM webhooks WHERE id = $1', [id])).rowCount === 1;
  }

  async emit(events: readonly OutboxEvent[]): Promise<number> {
    const written = await withTransaction(this.pool, (client) => writeOutbox(client, events));
    if (written > 0) this.signal.written();
    return written;
  }

  async deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      'SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
      [webhookId, limit],
    );
    return this.withAttempts(rows);
  }

  async delivery(webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const { rows } = await this.pool.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2', [webhookId, deliveryId]);
    return (await this.withAttempts(rows))[0];
  }

  /**
   * Rows another node is claiming right now are skipped, not waited for: each delivery goes to one node.
   * Leases are set and compared on the database's clock (`now()`), the one clock every node shares: with each
   * node's own, a node whose clock ran ahead would take a delivery whose lease has not ended, and send it twice.
   */
  async claimDue(claim: DeliveryClaim): Promise<ClaimedDelivery[]> {
    const { rows } = await this.pool.query<ClaimRow>(
      `WITH clock AS (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now),
       due AS (
         SELECT id FROM webhook_deliveries, clock WHERE state = 'pending' AND next_attempt_at <= $2 AND claimed_until <= clock.now
         ORDER BY next_attempt_at LIMIT $4 FOR UPDATE OF webhook_deliveries SKIP LOCKED)
       UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = clock.now + $3 FROM due, webhooks, clock
       WHERE webhook_deliveries.id = due.id AND webhooks.id = webhook_deliveries.webhook_id
       RETURNING webhook_deliveries.*, webhooks.url, webhooks.secret`,
      [claim.node, claim.now, claim.leaseMs, claim.limit],
    );
    const box = rows.length > 0 ? await this.secrets() : undefined;
    return rows.map((row) => ({
      id: row.id,
      webhookId: row.webhook_id,
      eventId: row.event_id,
      url: row.url,
      secret: box!.open(row.secret, webhookSecretContext(row.webhook_id)),
      body: row.body,
      createdAt: Number(row.created_at),
      windowStart: Number(row.window_start),
      attempts: row.attempts,
    }));
  }

  async recordAttempt(deliveryId: string, node: string, attempt: DeliveryAttempt, outcome: DeliveryOutcome): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const updated = await client.query(
        `UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, attempts = attempts + 1, claimed_by = NULL, claimed_until = 0
         WHERE id = $3 AND claimed_by = $4`,
        [outcome.state, outcome.nextAttemptAt, deliveryId, node],
      );
      if (updated.rowCount !== 1) return false;
      await client.query('INSERT INTO webhook_attempts (delivery_id, at, status, error, response) VALUES ($1, $2, $3, $4, $5)', [
        deliveryId,
        attempt.at,
        attempt.status,
        attempt.error,
        attempt.response,
      ]);
      return true;
    });
  }

  async releaseClaims(node: string): Promise<number> {
    const released = await this.pool.query("UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = 0 WHERE state = 'pending' AND claimed_by = $1", [node]);
    return released.rowCount ?? 0;
  }

  async redeliver(webhookId: string, deliveryId: string, now: number): Promise<boolean> {
    const updated = await withTransaction(this.pool, async (client) => {
      const result = await client.query(
        `UPDATE webhook_deliveries SET state = 'pending', window_start = $3, next_attempt_at = $3, claimed_by = NULL, claimed_until = 0
         WHERE id = $1 AND webhook_id = $2`,
        [deliveryId, webhookId, now],
      );
      if (result.rowCount === 1) await client.query(`NOTIFY ${WEBHOOKS_CHANNEL}`);
      return result.rowCount === 1;
    });
    if (updated) this.signal.written();
    return updated;
  }

  /**
   * The rows chosen are locked (others' locked rows skipped), and the state is checked again on the row
   * deleted: a delivery redelivered meanwhile is pending again and stays.
   */
  async deleteEnded(before: number, limit: number): Promise<number> {
    const deleted = await this.pool.query(
      `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND id IN (
         SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND next_attempt_at < $1
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [before, limit],
    );
    return deleted.rowCount ?? 0;
  }

  async nextDue(): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ due: string | null }>(
      "SELECT min(GREATEST(next_attempt_at, claimed_until)) AS due FROM webhook_deliveries WHERE state = 'pending'",
    );
    return rows[0]?.due === null || rows[0] === undefined ? undefined : Number(rows[0].due);
  }

  async watch(onWritten: () => void): Promise<() => Promise<void>> {
    const off = this.signal.on(onWritten);
    try {
      const listening = await listen(this.url, [WEBHOOKS_CHANNEL], () => onWritten(), { onReconnected: onWritten });
      return async () => {
        off();
        await listening.close();
      };
    } catch (error) {
      off();
      throw error;
    }
  }

  private async withAttempts(rows: readonly DeliveryRow[]): Promise<DeliveryRecord[]> {
    if (rows.length === 0) return [];
    const { rows: attempts } = await this.pool.query<AttemptRow>('SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY at', [rows.map((row) => row.id)]);
    return rows.map((row) => deliveryFromRows(row, attempts));
  }
}
