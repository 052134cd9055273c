import { Agent, request } from 'undici';

/** A Varnish edge as the registry knows it: a name and the URL its PURGE requests go to. */
export interface EdgeTarget {
  name: string;
  url: string;
}

export interface EdgePurgeReport {
  /** Edges that confirmed every PURGE (status 200). */
  purged: string[];
  /** Edges that did not, after every try: to be taken out of rotation. */
  failed: { name: string; reason: string }[];
}

export interface EdgePurgerOptions {
  /** Per try: an edge that has not answered by then has failed that try. */
  timeoutMs?: number;
  tries?: number;
}

/**
 * The longest `xkey-purge` value sent in one request. Varnish refuses a request whose header is longer than
 * `http_req_hdr_len` (8 KiB by default); a longer key list is split across several PURGE requests.
 */
export const MAX_KEYS_HEADER_BYTES = 4000;

/**
 * Sends purges to the edges (see edges/vcl.ts for the other side): `PURGE /` with `xkey-purge: <keys>`, to
 * every edge at once. An edge has purged when it answered 200 to every request; it has failed when a request
 * got another answer, or none within the timeout, on each of its tries. The worst case for a hung edge is
 * tries × timeout, after which the caller takes it out of rotation; nothing here waits longer.
 */
export class EdgePurger {
  private readonly timeoutMs: number;
  private readonly tries: number;
  /** Its own connections: a hung edge's sockets are not the ones the rest of the process uses. */
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });

  constructor(options: EdgePurgerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 500;
    this.tries = options.tries ?? 2;
  }

  async purge(edges: readonly EdgeTarget[], keys: readonly string[]): Promise<EdgePurgeReport> {
    const batches = splitKeys(keys);
    const results = await Promise.all(
      edges.map(async (edge) => {
        const failures = await Promise.all(batches.map((batch) => this.send(edge, { 'xkey-purge': batch })));
        return { name: edge.name, reason: failures.find((reason) => reason !== undefined) };
      }),
    );
    return {
      purged: results.filter((result) => result.reason === undefined).map((result) => result.name),
      failed: results.flatMap(({ name, reason }) => (reason === undefined ? [] : [{ name, reason }])),
    };
  }

  /** Empties the edge's cache (`x-flush-all: 1`), as before re-admitting it. Throws with the reason when it cannot. */
  async flush(edge: EdgeTarget): Promise<void> {
    const reason = await this.send(edge, { 'x-flush-all': '1' });
    if (reason !== undefined) throw new Error(`edge ${edge.name} could not be flushed: ${reason}`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** One PURGE, tried up to `tries` times; the reason of the last failure, or undefined once it succeeded. */
  private async send(edge: EdgeTarget, headers: Record<string, string>): Promise<string | undefined> {
    let reason = 'not tried';
    for (let attempt = 0; attempt < this.tries; attempt++) {
      try {
        const response = await request(new URL('/', edge.url), {
          method: 'PURGE',
          headers,
          dispatcher: this.agent,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await response.body.dump();
        if (response.statusCode === 200) return undefined;
        reason = `answered ${response.statusCode}`;
      } catch (error) {
        reason = describe(error, this.timeoutMs);
      }
    }
    return reason;
  }
}

/** Keys in space-separated groups of at most MAX_KEYS_HEADER_BYTES each. */
export function splitKeys(keys: readonly string[]): string[] {
  const batches: string[] = [];
  let current = '';
  for (const key of keys) {
    if (current !== '' && current.length + 1 + key.length > MAX_KEYS_HEADER_BYTES) {
      batches.push(current);
      current = '';
    }
    current = current === '' ? key : `${current} ${key}`;
  }
  if (current !== '') batches.push(current);
  return batches;
}

function describe(error: unknown, timeoutMs: number): string {
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string } }).cause;
  const errno = code ?? cause?.code;
  if (errno === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  return errno ?? message ?? String(error);
}
