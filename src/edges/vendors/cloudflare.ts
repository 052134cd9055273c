import type { EdgeDriver, EdgeOrder, EdgeOutcome } from '../edge-driver.ts';
import { answerOutcome, batchesOf, BatchedPurge, unansweredOutcome, VendorClient } from './vendor-http.ts';
import type { VendorAnswer, VendorDriverOptions } from './vendor-http.ts';
import { attributesOf, optionalEndpoint, requiredId, requiredSecret } from './vendor-settings.ts';

export interface CloudflareSettings {
  zoneId: string;
  apiToken: string;
  /** The API's base URL; Cloudflare's own when absent. */
  endpoint?: string | undefined;
}

export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

/**
 * The most items (tags here) one purge request may carry on every plan: Enterprise allows more, but the
 * lowest documented limit works everywhere.
 * https://developers.cloudflare.com/cache/how-to/purge-cache/ ("Max operations per request")
 */
export const CLOUDFLARE_MAX_TAGS_PER_REQUEST = 100;

/** `attributes` of a `cloudflare` edge → its settings; a 400 pointing at the field that is missing or wrong. */
export function parseCloudflareSettings(input: unknown): CloudflareSettings {
  const attributes = attributesOf(input);
  return {
    zoneId: requiredId(attributes, 'zone_id', /^[0-9a-f]{32}$/i, "the zone's ID (32 hexadecimal digits, on the zone's Overview page)"),
    apiToken: requiredSecret(attributes, 'api_token', 'an API token with the Zone.Cache Purge permission on the zone'),
    endpoint: optionalEndpoint(attributes),
  };
}

/**
 * Purges a Cloudflare zone by cache tag: every response Pictor serves carries its edge keys in `Cache-Tag`
 * (which Cloudflare keeps to itself), and a purge sends the keys of its scopes as `{"tags":[…]}` to
 * `POST /zones/{zone}/purge_cache`, in batches of at most `CLOUDFLARE_MAX_TAGS_PER_REQUEST`, one after the
 * other. The purge is `purged` once Cloudflare confirmed (`success: true`) every batch.
 *
 * Tags rather than URLs or prefixes: one tag covers every derivative of an asset, whatever its query string,
 * and the keys of a folder or a Source cover everything under them, so the purge never lists URLs.
 *
 * Outcomes: `429` → `retry` after Cloudflare's `Retry-After`; `5xx` and no answer → `retry`; any other
 * refusal (`400`, `401`, `403`, `404`) → `failed` with Cloudflare's `errors[].message`.
 */
export class CloudflareDriver implements EdgeDriver {
  private readonly client: VendorClient;
  private readonly url: URL;
  private readonly batched = new BatchedPurge();

  constructor(
    private readonly settings: CloudflareSettings,
    options: VendorDriverOptions,
  ) {
    this.client = new VendorClient(options);
    this.url = new URL(`${settings.endpoint ?? CLOUDFLARE_API}/zones/${encodeURIComponent(settings.zoneId)}/purge_cache`);
  }

  purge(order: EdgeOrder): Promise<EdgeOutcome> {
    return this.batched.run(order.id, batchesOf(order.keys, CLOUDFLARE_MAX_TAGS_PER_REQUEST), (tags) => this.purgeTags(tags));
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** Undefined when Cloudflare confirmed the purge of these tags, else the outcome of this try. */
  private async purgeTags(tags: string[]): Promise<EdgeOutcome | undefined> {
    let answer: VendorAnswer;
    try {
      answer = await this.client.postJson(this.url, { authorization: `Bearer ${this.settings.apiToken}` }, { tags });
    } catch (error) {
      return unansweredOutcome('Cloudflare', error);
    }
    const body = answer.json as { success?: unknown } | undefined;
    if (answer.status >= 200 && answer.status < 300) {
      // A 2xx without `success: true` confirms nothing: try again rather than report a purge that may not be.
      return body?.success === true ? undefined : { state: 'retry', error: `Cloudflare answered ${answer.status} without success: true` };
    }
    return answerOutcome('Cloudflare', answer, cloudflareMessage(answer.json));
  }
}

/** Cloudflare's `errors[]` as one line: `Authentication error (10000); …`. */
function cloudflareMessage(json: unknown): string | undefined {
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const line = (entry: { message?: unknown; code?: unknown } | undefined): string =>
    `${String(entry?.message ?? 'error')}${entry?.code === undefined ? '' : ` (${String(entry.code)})`}`;
  return errors.map(line).join('; ');
}
