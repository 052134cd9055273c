import type { EdgeDriver, EdgeOrder, EdgeOutcome } from '../edge-driver.ts';
import { answerOutcome, batchesOf, BatchedPurge, unansweredOutcome, VendorClient } from './vendor-http.ts';
import type { VendorAnswer, VendorDriverOptions } from './vendor-http.ts';
import { attributesOf, optionalBoolean, optionalEndpoint, requiredId, requiredSecret } from './vendor-settings.ts';

export interface FastlySettings {
  serviceId: string;
  apiToken: string;
  /** Marks content stale instead of removing it (`Fastly-Soft-Purge: 1`). */
  softPurge?: boolean | undefined;
  /** The API's base URL; Fastly's own when absent. */
  endpoint?: string | undefined;
}

export const FASTLY_API = 'https://api.fastly.com';

/**
 * The most surrogate keys one batch purge request may carry.
 * https://developer.fastly.com/reference/api/purging/ ("Purge multiple surrogate key tags")
 */
export const FASTLY_MAX_KEYS_PER_REQUEST = 256;

/** `attributes` of a `fastly` edge → its settings; a 400 pointing at the field that is missing or wrong. */
export function parseFastlySettings(input: unknown): FastlySettings {
  const attributes = attributesOf(input);
  return {
    serviceId: requiredId(attributes, 'service_id', /^[A-Za-z0-9]{1,64}$/, "the service's ID (letters and digits, shown under the service's name)"),
    apiToken: requiredSecret(attributes, 'api_token', 'a Fastly API token with the purge_select scope on the service'),
    softPurge: optionalBoolean(attributes, 'soft_purge'),
    endpoint: optionalEndpoint(attributes),
  };
}

/**
 * Purges a Fastly service by surrogate key: every response Pictor serves carries its edge keys in
 * `Surrogate-Key` (which Fastly strips before visitors see it), and a purge sends the keys of its scopes as
 * `{"surrogate_keys":[…]}` to `POST /service/{id}/purge`, at most `FASTLY_MAX_KEYS_PER_REQUEST` per request,
 * with `Fastly-Soft-Purge: 1` when the edge asks for soft purges. A batch is confirmed when Fastly's answer
 * maps every key sent to a purge id.
 *
 * Outcomes: `429` → `retry` after `Retry-After` (or `Fastly-RateLimit-Reset`); `5xx` and no answer →
 * `retry`; any other refusal (`400`, `401`, `403`, `404`) → `failed` with Fastly's `msg` and `detail`.
 */
export class FastlyDriver implements EdgeDriver {
  private readonly client: VendorClient;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly batched = new BatchedPurge();

  constructor(settings: FastlySettings, options: VendorDriverOptions) {
    this.client = new VendorClient(options);
    this.url = new URL(`${settings.endpoint ?? FASTLY_API}/service/${encodeURIComponent(settings.serviceId)}/purge`);
    this.headers = { 'fastly-key': settings.apiToken, ...(settings.softPurge === true ? { 'fastly-soft-purge': '1' } : {}) };
  }

  purge(order: EdgeOrder): Promise<EdgeOutcome> {
    return this.batched.run(order.id, batchesOf(order.keys, FASTLY_MAX_KEYS_PER_REQUEST), (keys) => this.purgeKeys(keys));
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** Undefined when Fastly confirmed the purge of every one of these keys, else the outcome of this try. */
  private async purgeKeys(keys: string[]): Promise<EdgeOutcome | undefined> {
    let answer: VendorAnswer;
    try {
      answer = await this.client.postJson(this.url, this.headers, { surrogate_keys: keys });
    } catch (error) {
      return unansweredOutcome('Fastly', error);
    }
    if (answer.status >= 200 && answer.status < 300) {
      const ids = answer.json as Record<string, unknown> | undefined;
      const missing = keys.filter((key) => typeof ids?.[key] !== 'string');
      if (missing.length === 0) return undefined;
      return { state: 'retry', error: `Fastly answered ${answer.status} without a purge id for ${missing.length} of ${keys.length} keys` };
    }
    const outcome = answerOutcome('Fastly', answer, fastlyMessage(answer.json));
    if (outcome.state === 'retry' && outcome.afterMs === undefined) {
      // Fastly's API states when its rate-limit window resets (Unix seconds) rather than a Retry-After.
      const reset = Number(answer.header('fastly-ratelimit-reset'));
      if (Number.isFinite(reset) && reset > 0) return { ...outcome, afterMs: Math.max(0, reset * 1000 - Date.now()) };
    }
    return outcome;
  }
}

/** Fastly's error document (`{"msg": …, "detail": …}`) as one line. */
function fastlyMessage(json: unknown): string | undefined {
  const { msg, detail } = (json ?? {}) as { msg?: unknown; detail?: unknown };
  if (typeof msg !== 'string') return undefined;
  return typeof detail === 'string' && detail !== '' ? `${msg} (${detail})` : msg;
}
