import { Agent, request } from 'undici';
import type { EdgeCacheKeyStore } from '../store/edge-cache-keys.ts';
import type { EdgeTarget } from './edge-purger.ts';

/** Where an nginx edge answers purges (edges/nginx-conf.ts), and the header naming the cache key to remove. */
export const NGINX_PURGE_PATH = '/pictor-purge';
export const NGINX_PURGE_KEY_HEADER = 'x-pictor-purge-key';
/** The cache key a flush asks the edge to remove first, to learn that it answers: no request is filed under it. */
const FLUSH_PROBE_KEY = 'pictor-flush-probe';
/** Purge requests in flight per edge at once. */
const CONCURRENCY = 16;

/**
 * Purges an nginx edge (ngx_cache_purge 2.3, which removes one cache key per request and has no wildcard): every
 * cache key recorded for the edge under one of the purge's edge keys (store/edge-cache-keys.ts) gets one
 * request. 200 (removed) and 404 (not cached there any more) both mean the key is gone; the keys are then
 * forgotten, unless recorded again since the purge began (a newer response may be cached under it now).
 */
export class NginxPurger {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: CONCURRENCY });

  constructor(
    private readonly keys: EdgeCacheKeyStore,
    private readonly options: { timeoutMs: number; tries: number } = { timeoutMs: 500, tries: 2 },
  ) {}

  /** Undefined once every covered key is gone from the edge; else why not. */
  async purge(edge: EdgeTarget, edgeKeys: readonly string[]): Promise<string | undefined> {
    return this.remove(edge, edgeKeys);
  }

  /**
   * Removes every key recorded for the edge (before it is re-admitted). Throws with the reason when it cannot.
   * The edge is asked once whatever is recorded (a key no response has: 404): an edge with no key recorded
   * must still answer to count as flushed, or one that is down would be re-admitted.
   */
  async flush(edge: EdgeTarget): Promise<void> {
    const reason = (await this.send(edge, FLUSH_PROBE_KEY)) ?? (await this.remove(edge, 'all'));
    if (reason !== undefined) throw new Error(`edge ${edge.name} could not be flushed: ${reason}`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async remove(edge: EdgeTarget, edgeKeys: readonly string[] | 'all'): Promise<string | undefined> {
    const started = Date.now();
    const recorded = await this.keys.covered(edge.name, edgeKeys);
    const queue = recorded.map((entry) => entry.cacheKey);
    const removed: string[] = [];
    let failure: string | undefined;
    const worker = async (): Promise<void> => {
      for (let key = queue.shift(); key !== undefined && failure === undefined; key = queue.shift()) {
        const reason = await this.send(edge, key);
        if (reason === undefined) removed.push(key);
        else failure ??= reason;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    await this.keys.forget(edge.name, removed, started);
    return failure;
  }

  private async send(edge: EdgeTarget, cacheKey: string): Promise<string | undefined> {
    let reason = 'not tried';
    for (let attempt = 0; attempt < this.options.tries; attempt++) {
      try {
        const response = await request(new URL(NGINX_PURGE_PATH, edge.url), {
          method: 'PURGE',
          headers: { [NGINX_PURGE_KEY_HEADER]: cacheKey },
          dispatcher: this.agent,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await response.body.dump();
        if (response.statusCode === 200 || response.statusCode === 404) return undefined;
        reason = `answered ${response.statusCode}`;
      } catch (error) {
        const { name, code, message } = error as { name?: string; code?: string; message?: string };
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        reason = timedOut ? `no answer within ${this.options.timeoutMs} ms` : (code ?? message ?? String(error));
      }
    }
    return reason;
  }
}
