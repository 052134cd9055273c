import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stand-in received, as it came: for tests that assert what Pictor sends. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A token bucket as the vendors describe theirs: `size` tokens to start with, `refillPerSecond` added back
 * continuously; a request takes one token or is refused, and `retryAfterSeconds` says when one is back.
 */
export class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly size: number,
    private readonly refillPerSecond: number,
  ) {
    this.tokens = size;
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  retryAfterSeconds(): number {
    this.refill();
    return Math.max(1, Math.ceil((1 - this.tokens) / this.refillPerSecond));
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.size, this.tokens + ((now - this.at) / 1000) * this.refillPerSecond);
    this.at = now;
  }
}

export interface StandInServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: RecordedRequest[];
  /** Answers the next `count` requests with `status` (a vendor outage), before any other check. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

export type StandInHandler = (request: RecordedRequest, response: http.ServerResponse) => void;

/** A real HTTP server on a free loopback port that records every request and hands it, body read, to `handle`. */
export async function startStandInServer(
  handle: StandInHandler,
  outage: (status: number, response: http.ServerResponse) => void,
): Promise<StandInServer> {
  const requests: RecordedRequest[] = [];
  const failures: number[] = [];
  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded = { method: incoming.method ?? '', path: incoming.url ?? '', headers: incoming.headers, body };
      requests.push(recorded);
      const failure = failures.shift();
      if (failure !== undefined) return outage(failure, response);
      handle(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext: (status, count = 1) => failures.push(...Array.from({ length: count }, () => status)),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
