import { createHash } from 'node:crypto';
import { request } from 'undici';
import { findRefusal, OutboundGuard, type Resolver } from '../../sources/outbound-guard.ts';
import type { EdgeOutcome } from '../edge-driver.ts';

/** What every vendor driver is given besides the edge's own settings. */
export interface VendorDriverOptions {
  /** IPs and CIDRs the vendor endpoint may be at although private (`--outbound-allow`): a stand-in, a proxy. */
  outboundAllow: readonly string[];
  /** Bound of one request to the vendor's API: connecting, the answer and its body (default 10 s). */
  timeoutMs?: number;
  /** Host name resolution (the system's by default); every address it returns is still checked. */
  resolve?: Resolver;
}

export const DEFAULT_VENDOR_TIMEOUT_MS = 10_000;

/**
 * The most of an answer's body that is read: a vendor's answers are small JSON documents, and an endpoint is
 * chosen by whoever may add edges, so a body without end is cut rather than held in memory.
 */
const MAX_ANSWER_BYTES = 256 * 1024;

/** The longest vendor message carried into a purge's status document. */
const MAX_MESSAGE_CHARS = 500;

export interface VendorAnswer {
  status: number;
  header(name: string): string | undefined;
  /** The body as JSON, or undefined when it is not JSON (or is over the size read). */
  json: unknown;
}

/**
 * JSON over HTTPS to a vendor's API, behind Pictor's SSRF guard (sources/outbound-guard.ts).
 *
 * Security invariant: every connection goes through the guard's undici agent, so a vendor endpoint on a
 * loopback, private, link-local or metadata address is refused before any byte (and so before the API token)
 * is sent, unless `--outbound-allow` admits it. Redirects are not followed: a token is never replayed to
 * another host.
 */
export class VendorClient {
  private readonly guard: OutboundGuard;
  private readonly timeoutMs: number;

  constructor(options: VendorDriverOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
    const resolve = options.resolve ? { resolve: options.resolve } : {};
    this.guard = new OutboundGuard(options.outboundAllow, { connectTimeoutMs: this.timeoutMs, ...resolve });
  }

  /** POSTs `body` as JSON. Throws on a refused destination, a network failure or the timeout. */
  async postJson(url: URL, headers: Record<string, string>, body: unknown): Promise<VendorAnswer> {
    this.guard.checkUrl(url);
    const response = await request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'Pictor' },
      body: JSON.stringify(body),
      dispatcher: this.guard.agent,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await readCapped(response.body);
    const header = (name: string): string | undefined => {
      const value = response.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    return { status: response.statusCode, header, json: parseJson(text) };
  }

  close(): Promise<void> {
    return this.guard.close();
  }
}

type AnswerBody = AsyncIterable<Buffer> & { destroy(): unknown; on(event: 'error', listener: () => void): unknown };

async function readCapped(body: AnswerBody): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > MAX_ANSWER_BYTES) {
      body.on('error', () => undefined);
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The outcome of an answer that did not confirm the purge: `429`, `408` and `5xx` are transient (`retry`, after
 * the wait the vendor asked for), every other answer is the vendor refusing for good (`failed`).
 */
export function answerOutcome(vendor: string, answer: VendorAnswer, vendorMessage: string | undefined): EdgeOutcome {
  const said = vendorMessage === undefined || vendorMessage === '' ? '' : `: ${vendorMessage}`;
  const error = clip(`${vendor} answered ${answer.status}${said}`);
  if (answer.status === 429 || answer.status === 408 || answer.status >= 500) {
    const afterMs = retryAfterMs(answer.header('retry-after'));
    return afterMs === undefined ? { state: 'retry', error } : { state: 'retry', error, afterMs };
  }
  return { state: 'failed', error };
}

/**
 * The outcome of a request that got no answer. A destination the outbound guard refuses is a configuration
 * error that no retry mends (`failed`); a refused connection, a reset or a timeout is transient (`retry`).
 */
export function unansweredOutcome(vendor: string, error: unknown): EdgeOutcome {
  const refusal = findRefusal(error);
  if (refusal !== undefined) return { state: 'failed', error: clip(`${vendor}: ${refusal.message}`) };
  return { state: 'retry', error: clip(`${vendor} could not be reached (${describe(error)})`) };
}

/** `Retry-After` (seconds, or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = (error as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${cause.message}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${inner}`.trim();
  }
  return String(error);
}

export function clip(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

/** `items` in order, each once, in groups of at most `size`. */
export function batchesOf(items: readonly string[], size: number): string[][] {
  const unique = [...new Set(items)];
  const batches: string[][] = [];
  for (let start = 0; start < unique.length; start += size) batches.push(unique.slice(start, start + size));
  return batches;
}

/** How many orders' partial progress a driver remembers; the oldest is forgotten first. */
const REMEMBERED_ORDERS = 1000;

/**
 * Sends an order's batches one after the other and remembers, per order id, those the vendor confirmed, so
 * that the retry of an order cut short (by a rate limit, mostly) sends only the batches still to do. Without
 * it a purge of more batches than the vendor's rate bucket holds would be refused at the same point on every
 * try. The memory is an optimisation only: forgotten (a restart, eviction), the retry sends every batch again,
 * which purges the same things.
 */
export class BatchedPurge {
  private readonly confirmed = new Map<string, Set<number>>();

  /** `send` answers undefined when the vendor confirmed the batch, else the outcome that stops this try. */
  async run(orderId: string, batches: readonly string[][], send: (batch: string[]) => Promise<EdgeOutcome | undefined>): Promise<EdgeOutcome> {
    const key = `${orderId}\n${createHash('sha256').update(JSON.stringify(batches)).digest('hex')}`;
    const done = this.confirmed.get(key) ?? new Set<number>();
    for (const [index, batch] of batches.entries()) {
      if (done.has(index)) continue;
      const stop = await send(batch);
      if (stop !== undefined) {
        if (stop.state !== 'failed' && done.size > 0) this.remember(key, done);
        else this.confirmed.delete(key);
        return stop;
      }
      done.add(index);
    }
    this.confirmed.delete(key);
    return { state: 'purged' };
  }

  private remember(key: string, done: Set<number>): void {
    this.confirmed.delete(key);
    this.confirmed.set(key, done);
    if (this.confirmed.size > REMEMBERED_ORDERS) this.confirmed.delete(this.confirmed.keys().next().value!);
  }
}
