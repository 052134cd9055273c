/**
 * Webhooks (Standard Webhooks) and their outbox, in SQLite (one node) or PostgreSQL (a cluster:
 * postgres/webhook-store.ts).
 *
 * Invariant (the outbox): an event is written by the transaction that makes the change it reports — a purge's
 * completion (purge-log.ts `complete`), a takedown created or lifted (takedown-store.ts), an asset indexed
 * by a refresh (asset-store.ts) — as one delivery per webhook subscribed to its type. A change that commits
 * has its deliveries; one that does not, has none. Deliveries are then claimed by one node at a time (a
 * lease), so in a cluster each is sent by one node, and again only once its lease has run out.
 */

export const WEBHOOK_EVENT_TYPES = ['purge.completed', 'purge.failed', 'takedown.created', 'takedown.lifted', 'asset.refreshed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An event to deliver to every webhook subscribed to its type. */
export interface OutboxEvent {
  /** The message id (`webhook-id`): the same on every try and for every webhook. */
  id: string;
  type: WebhookEventType;
  /** The JSON body every receiver gets: `{"type","timestamp","data"}`. */
  body: string;
  createdAt: number;
}

/** The events a change reports, written by the transaction that writes the change (`subject`: what it writes). */
export type Outbox<T> = (subject: T) => readonly OutboxEvent[];

export interface WebhookRecord {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: number;
}

export interface NewWebhook extends WebhookRecord {
  /** `whsec_…`; sealed at rest with the key of Source secrets. */
  secret: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One POST to the receiver: its HTTP status, or why there was none; the start of the answer's body. */
export interface DeliveryAttempt {
  at: number;
  status: number | null;
  error: string | null;
  /** At most RESPONSE_EXCERPT_BYTES of the body. */
  response: string | null;
}

/** How much of a receiver's answer is kept per attempt. */
export const RESPONSE_EXCERPT_BYTES = 1024;

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: WebhookEventType;
  state: DeliveryState;
  createdAt: number;
  /** When the retry window started: the event's time, or the last redelivery. */
  windowStart: number;
  /** When the next try is due (pending only). */
  nextAttemptAt: number;
  /** Oldest first. */
  attempts: DeliveryAttempt[];
}

/** A due delivery claimed by one node, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  url: string;
  /** `whsec_…`, opened. */
  secret: string;
  body: string;
  createdAt: number;
  windowStart: number;
  /** Tries made before this one. */
  attempts: number;
}

export interface DeliveryClaim {
  node: string;
  /** What is due by now: this node's clock. */
  now: number;
  /**
   * Longer than one try may take: past it another node may send the delivery again. PostgreSQL sets and
   * compares leases on the database's clock, shared by every node; SQLite (one sender) on `now`.
   */
  leaseMs: number;
  limit: number;
}

/** What a try leads to: delivered, failed for good, or pending until `nextAttemptAt`. */
export interface DeliveryOutcome {
  state: DeliveryState;
  nextAttemptAt: number;
}

export interface WebhookStore {
  add(webhook: NewWebhook): Promise<WebhookRecord>;
  /** Oldest first. */
  list(): Promise<WebhookRecord[]>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** Removes the webhook and its deliveries; false when there was none. */
  remove(id: string): Promise<boolean>;
  /** Writes events that report no stored change of their own; answers how many deliveries were written. */
  emit(events: readonly OutboxEvent[]): Promise<number>;
  /** A webhook's newest deliveries first, each with its attempts. */
  deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>;
  delivery(webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined>;
  /** Claims up to `limit` pending deliveries due by `now` that no node holds, oldest first. */
  claimDue(claim: DeliveryClaim): Promise<ClaimedDelivery[]>;
  /**
   * Records a try and its outcome, and releases the claim; false (nothing written) when `node` no longer
   * holds the delivery (its lease ran out and another node took it, or it was removed).
   */
  recordAttempt(deliveryId: string, node: string, attempt: DeliveryAttempt, outcome: DeliveryOutcome): Promise<boolean>;
  /**
   * At a start: forgets the claims an earlier run of this sender held (it stopped or was killed while
   * sending), so what it was sending is sent now rather than once its lease runs out. SQLite: every claim (one
   * server sends for a data directory); PostgreSQL: the claims of `node`.
   */
  releaseClaims(node: string): Promise<number>;
  /** Makes a delivery due now with a new retry window, whatever its state; false when there is none. */
  redeliver(webhookId: string, deliveryId: string, now: number): Promise<boolean>;
  /**
   * Deletes up to `limit` delivered or failed deliveries that ended before `before` (their last try; for a
   * failed one, when its next try would have been), with their attempts, in one transaction; never a pending
   * one, however old, nor one made pending again (redelivered) meanwhile. Answers how many.
   */
  deleteEnded(before: number, limit: number): Promise<number>;
  /** When the earliest pending delivery is due (or its claim runs out), if any. */
  nextDue(): Promise<number | undefined>;
  /**
   * Calls `onWritten` when deliveries may have been written (by this process at once; by other processes
   * or nodes within a moment). Resolves once watching, with the function that stops it.
   */
  watch(onWritten: () => void): Promise<() => Promise<void>>;
}

/** Told after a transaction that wrote deliveries has committed, in this process. */
export class OutboxSignal {
  private readonly listeners = new Set<() => void>();

  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  written(): void {
    for (const listener of this.listeners) listener();
  }
}

/** What a webhook secret is bound to when sealed: it opens only as this webhook's secret. */
export function webhookSecretContext(webhookId: string): string {
  return `secret of webhook ${webhookId}`;
}

/** A row of `webhook_deliveries` as both databases return it (PostgreSQL's BIGINTs as strings). */
export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  state: string;
  created_at: number | string;
  window_start: number | string;
  next_attempt_at: number | string;
}

export interface AttemptRow {
  delivery_id: string;
  at: number | string;
  status: number | null;
  error: string | null;
  response: string | null;
}

export function deliveryFromRows(row: DeliveryRow, attempts: readonly AttemptRow[]): DeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type as WebhookEventType,
    state: row.state as DeliveryState,
    createdAt: Number(row.created_at),
    windowStart: Number(row.window_start),
    nextAttemptAt: Number(row.next_attempt_at),
    attempts: attempts
      .filter((attempt) => attempt.delivery_id === row.id)
      .map((attempt) => ({ at: Number(attempt.at), status: attempt.status, error: attempt.error, response: attempt.response })),
  };
}

export interface WebhookRow {
  id: string;
  url: string;
  events: string | string[];
  secret: string;
  created_at: number | string;
}

export function webhookFromRow(row: WebhookRow): WebhookRecord {
  const events = typeof row.events === 'string' ? (JSON.parse(row.events) as string[]) : row.events;
  return { id: row.id, url: row.url, events: events as WebhookEventType[], createdAt: Number(row.created_at) };
}
