import { request } from 'undici';
import { findRefusal, type OutboundGuard } from '../sources/outbound-guard.ts';
import { RESPONSE_EXCERPT_BYTES, type ClaimedDelivery, type DeliveryAttempt, type DeliveryOutcome, type WebhookStore } from '../store/webhook-store.ts';
import { signature } from './signing.ts';

/** Deliveries claimed per read of the store. */
const BATCH = 20;
/** The first wait after a failed try; it doubles with each try, up to MAX_BACKOFF_MS, with jitter. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60 * 60 * 1000;
/** A claim outlasts a try by this much: a node sending past its lease would send a second copy. */
const LEASE_MARGIN_MS = 10_000;
/** How often the worker looks again when nothing wakes it (deliveries made due by another node's lease ending). */
const SWEEP_MS = 5000;

export interface DeliveryWorkerOptions {
  /** This node's name, known once it has joined. */
  nodeId: () => string;
  guard: OutboundGuard;
  timeoutMs: number;
  /** How long a delivery is retried (from its event, or its last redelivery) before it fails. */
  retryWindowMs: number;
  onError: (error: unknown) => void;
  onAttempt?: (delivery: ClaimedDelivery, attempt: DeliveryAttempt, outcome: DeliveryOutcome) => void;
}

/**
 * Sends the outbox (store/webhook-store.ts): claims due deliveries with a lease, POSTs each, signed as
 * Standard Webhooks says (signing.ts), through the outbound guard, and records the outcome: a 2xx is
 * delivered; anything else is tried again after an exponential backoff with jitter until the retry window
 * ends, then failed. Redirects are never followed: a 3xx is a failed try.
 *
 * It wakes when deliveries are written (in this process at once, in a cluster through NOTIFY), when the
 * next one falls due, and every SWEEP_MS. Delivery is at least once: a node that dies mid-try leaves the
 * delivery claimed until its lease ends (or it restarts), and it is sent again; receivers de-duplicate by
 * `webhook-id`, the same on every try.
 */
export class DeliveryWorker {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private unwatch: (() => Promise<void>) | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly store: WebhookStore,
    private readonly options: DeliveryWorkerOptions,
  ) {}

  async start(): Promise<void> {
    await this.store.releaseClaims(this.options.nodeId());
    this.unwatch = await this.store.watch(() => this.wake());
    this.sweeper = setInterval(() => this.wake(), SWEEP_MS);
    this.sweeper.unref();
    this.wake();
  }

  /** Stops claiming, and waits for the tries in flight (each ends within the timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.sweeper);
    await this.unwatch?.();
    await this.running;
    await Promise.allSettled([...this.sending]);
  }

  /** Looks for due deliveries now (once more after the current pass, if one runs). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async pass(): Promise<void> {
    try {
      for (let claimed = BATCH; claimed === BATCH && !this.stopped; ) {
        const now = Date.now();
        const due = await this.store.claimDue({ node: this.options.nodeId(), now, leaseMs: this.options.timeoutMs + LEASE_MARGIN_MS, limit: BATCH });
        for (const delivery of due) this.track(this.send(delivery));
        claimed = due.length;
      }
      await this.scheduleNext();
    } catch (error) {
      this.options.onError(error);
    }
  }

  private track(sending: Promise<void>): void {
    this.sending.add(sending);
    void sending.finally(() => this.sending.delete(sending));
  }

  private async scheduleNext(): Promise<void> {
    const due = await this.store.nextDue();
    clearTimeout(this.timer);
    if (due === undefined || this.stopped) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(due - Date.now(), SWEEP_MS)) + 5);
    this.timer.unref();
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    try {
      const attempt = await this.post(delivery);
      const outcome = this.outcome(delivery, attempt);
      if (await this.store.recordAttempt(delivery.id, this.options.nodeId(), attempt, outcome)) this.options.onAttempt?.(delivery, attempt, outcome);
      if (outcome.state === 'pending') this.wakeAt(outcome.nextAttemptAt);
    } catch (error) {
      // The store could not record it: the claim runs out and the delivery is tried again.
      this.options.onError(error);
    }
  }

  private wakeAt(at: number): void {
    if (this.stopped) return;
    setTimeout(() => this.wake(), Math.max(0, at - Date.now()) + 5).unref();
  }

  /** One POST; never throws: what went wrong is the attempt's error. */
  private async post(delivery: ClaimedDelivery): Promise<DeliveryAttempt> {
    const at = Date.now();
    const timestamp = Math.floor(at / 1000);
    try {
      const url = new URL(delivery.url);
      this.options.guard.checkUrl(url);
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.options.guard.agent,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Pictor-Webhooks',
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature(delivery.secret, delivery.eventId, timestamp, delivery.body),
        },
        body: delivery.body,
      });
      return { at, status: response.statusCode, error: null, response: await excerpt(response.body) };
    } catch (error) {
      return { at, status: null, error: describe(error), response: null };
    }
  }

  private outcome(delivery: ClaimedDelivery, attempt: DeliveryAttempt): DeliveryOutcome {
    if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) return { state: 'delivered', nextAttemptAt: attempt.at };
    const next = Date.now() + backoff(delivery.attempts);
    if (next > delivery.windowStart + this.options.retryWindowMs) return { state: 'failed', nextAttemptAt: next };
    return { state: 'pending', nextAttemptAt: next };
  }
}

/** The wait before the try after `tries` tries: doubling from FIRST_BACKOFF_MS, capped, ±20 % jitter. */
export function backoff(tries: number): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(tries, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** The first RESPONSE_EXCERPT_BYTES of an answer's body; the rest is not read. */
async function excerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_EXCERPT_BYTES) break;
  }
  body.destroy();
  if (size === 0) return null;
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES));
}

function describe(error: unknown): string {
  const refusal = findRefusal(error);
  if (refusal) return refusal.message;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'no answer within the timeout';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}
