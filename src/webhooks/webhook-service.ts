import dns from 'node:dns';
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import { PictorError } from '../errors.ts';
import { AddressPolicy, OutboundPreflight } from '../sources/outbound-guard.ts';
import { WEBHOOK_EVENT_TYPES, type DeliveryRecord, type WebhookEventType, type WebhookRecord, type WebhookStore } from '../store/webhook-store.ts';
import { checkSecret, generateSecret } from './signing.ts';

const MAX_URL_LENGTH = 2048;
/** Deliveries a webhook's listing shows, newest first. */
export const DELIVERIES_SHOWN = 50;

export interface AddedWebhook {
  record: WebhookRecord;
  /** The secret Pictor generated, shown once; undefined when the caller gave one. */
  generatedSecret: string | undefined;
}

/**
 * Webhooks' rules, shared by the API, the dashboard and the CLI: the receiver's URL, the events and the secret
 * are checked once, here.
 *
 * Security invariant: a receiver is reached over https, or over plain http only at an address the operator
 * admitted with `--outbound-allow` (a receiver on the same network); a receiver whose address the outbound
 * guard refuses is refused here already, and every delivery goes through the guard again (delivery-worker.ts).
 * The secret is write-only: sealed at rest, never in a listing, shown once when Pictor generates it.
 */
export class WebhookService {
  private readonly policy: AddressPolicy;
  private readonly preflight: OutboundPreflight;

  constructor(
    private readonly store: WebhookStore,
    outboundAllow: readonly string[],
  ) {
    this.policy = new AddressPolicy(outboundAllow);
    this.preflight = new OutboundPreflight(outboundAllow);
  }

  list(): Promise<WebhookRecord[]> {
    return this.store.list();
  }

  async require(id: string): Promise<WebhookRecord> {
    const webhook = await this.store.get(id);
    if (!webhook) throw new PictorError('NOT_FOUND', `There is no webhook with the id ${JSON.stringify(id)}.`);
    return webhook;
  }

  async add(attributes: unknown): Promise<AddedWebhook> {
    const fields = (typeof attributes === 'object' && attributes !== null ? attributes : {}) as Record<string, unknown>;
    const url = await this.checkUrl(fields.url);
    const events = checkEvents(fields.events);
    const given = fields.secret === undefined || fields.secret === null ? undefined : checkSecret(fields.secret);
    const secret = given ?? generateSecret();
    const record = await this.store.add({ id: `wh_${randomUUID().replaceAll('-', '')}`, url, events, secret, createdAt: Date.now() });
    return { record, generatedSecret: given === undefined ? secret : undefined };
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) throw new PictorError('NOT_FOUND', `There is no webhook with the id ${JSON.stringify(id)}.`);
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    await this.require(id);
    return this.store.deliveries(id, DELIVERIES_SHOWN);
  }

  /** Sends a delivery again now, whatever its state, with a new retry window (the same `webhook-id`). */
  async redeliver(id: string, deliveryId: string): Promise<DeliveryRecord> {
    await this.require(id);
    if (!(await this.store.redeliver(id, deliveryId, Date.now()))) {
      throw new PictorError('NOT_FOUND', `Webhook ${id} has no delivery with the id ${JSON.stringify(deliveryId)}.`);
    }
    return (await this.store.delivery(id, deliveryId))!;
  }

  /** https, or http to an address the allow-list admits; never one the outbound guard refuses. */
  private async checkUrl(value: unknown): Promise<string> {
    const pointer = '/data/attributes/url';
    const problem = (why: string): PictorError => new PictorError('BAD_REQUEST', `"url" ${why}.`, { pointer });
    if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) throw problem(`must be the receiver's https:// URL of at most ${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw problem(`is not a URL: ${JSON.stringify(value)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw problem(`must be an https:// URL, got ${url.protocol}`);
    if (url.username !== '' || url.password !== '') throw problem('must not carry credentials: the signature authenticates Pictor');
    if (url.hash !== '') throw problem('must not have a #fragment');
    if (url.protocol === 'http:' && !(await this.allowListed(url.hostname))) {
      throw problem(`must be https:// (plain http is only for a receiver whose address --outbound-allow admits), got ${url.origin}`);
    }
    const refused = await this.preflight.refusal(url);
    if (refused !== undefined) {
      throw new PictorError('OUTBOUND_REFUSED', `Webhook receiver refused: ${refused.address} is not a public address (${refused.reason}). ` +
        'Allow the address with --outbound-allow if it is intended.', { pointer });
    }
    return url.href;
  }

  private async allowListed(host: string): Promise<boolean> {
    const hostname = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(hostname) !== 0) return this.policy.allowListed(hostname);
    try {
      const addresses = await dns.promises.lookup(hostname, { all: true, verbatim: true });
      return addresses.length > 0 && addresses.every((entry) => this.policy.allowListed(entry.address));
    } catch {
      return false;
    }
  }
}

function checkEvents(value: unknown): WebhookEventType[] {
  const allowed = WEBHOOK_EVENT_TYPES.join(', ');
  const pointer = '/data/attributes/events';
  if (!Array.isArray(value) || value.length === 0) {
    throw new PictorError('BAD_REQUEST', `"events" must be a non-empty list of event types, out of: ${allowed}.`, { pointer });
  }
  const unknown = value.filter((event) => !(WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(event));
  if (unknown.length > 0) {
    const named = unknown.map((event) => JSON.stringify(event)).join(', ');
    throw new PictorError('BAD_REQUEST', `"events" has unknown event types (${named}); the events are: ${allowed}.`, { pointer });
  }
  return [...new Set(value as WebhookEventType[])];
}
