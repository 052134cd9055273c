import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver as a Pictor user would write one, a real HTTP server on port 0. It verifies every message
 * by the Standard Webhooks spec, written here from the spec and not from Pictor's signer: the key is the
 * base64 after `whsec_`, the signed content `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256, and the
 * `webhook-signature` header a space-separated list of `v1,<base64>`; a timestamp more than five minutes away
 * is refused (a replay). A message that fails verification is answered 400 and kept in `rejected`.
 */
export interface ReceivedMessage {
  id: string;
  timestamp: number;
  body: string;
  type: string;
  data: Record<string, unknown>;
  /** When it arrived (ms). */
  at: number;
}

/** What to answer to a verified message: a status (and body), or hold the request open until the test releases it. */
export type Answer = { status: number; body?: string } | 'hold';

export interface Receiver {
  url: string;
  /** The secret messages are verified with; set it once Pictor has shown a generated one. */
  secret: string;
  /** Verified messages, in arrival order (a retried message appears once per try). */
  received: ReceivedMessage[];
  rejected: { reason: string; headers: http.IncomingHttpHeaders }[];
  /** Decides the answer to the n-th verified message (0-based); 204 when absent. */
  answer: (message: ReceivedMessage, n: number) => Answer;
  /** Answers every held request with 204 (or closes them when `drop`). */
  release(drop?: boolean): void;
  /** How many verified messages carry each webhook-id. */
  counts(): Map<string, number>;
  stop(): Promise<void>;
}

const TOLERANCE_SECONDS = 5 * 60;

export function verify(secret: string, headers: http.IncomingHttpHeaders, body: string, nowSeconds = Date.now() / 1000): string | undefined {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing webhook headers';
  if (!/^\d+$/.test(timestamp)) return 'the timestamp is not a number of seconds';
  if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return 'the timestamp is too far from now';
  if (!secret.startsWith('whsec_')) return 'no secret to verify with';
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  }
  return 'no signature matches';
}

export async function startReceiver(secret = ''): Promise<Receiver> {
  const held: http.ServerResponse[] = [];
  const receiver: Omit<Receiver, 'url' | 'stop'> = {
    secret,
    received: [],
    rejected: [],
    answer: () => ({ status: 204 }),
    release(drop = false) {
      for (const response of held.splice(0)) {
        if (drop) response.destroy();
        else response.writeHead(204).end();
      }
    },
    counts() {
      const counts = new Map<string, number>();
      for (const message of receiver.received) counts.set(message.id, (counts.get(message.id) ?? 0) + 1);
      return counts;
    },
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const reason = request.method === 'POST' ? verify(receiver.secret, request.headers, body) : 'not a POST';
      if (reason !== undefined) {
        receiver.rejected.push({ reason, headers: request.headers });
        response.writeHead(400, { 'content-type': 'text/plain' }).end(reason);
        return;
      }
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      const message = { type: parsed.type, data: parsed.data, id: String(request.headers['webhook-id']), timestamp: Number(request.headers['webhook-timestamp']), body, at: Date.now() };
      const n = receiver.received.push(message) - 1;
      const answer = receiver.answer(message, n);
      if (answer === 'hold') held.push(response);
      else response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver as Receiver, {
    url: `http://127.0.0.1:${port}/hooks`,
    stop: async () => {
      receiver.release(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
