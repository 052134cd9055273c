import type { Dispatcher } from 'undici';
import type { EdgeRecord } from '../store/edge-store.ts';
import type { EdgeDriver } from './edge-driver.ts';
import type { EdgePurger } from './edge-purger.ts';
import type { NginxPurger } from './nginx-purger.ts';

/**
 * The kinds of edge, behind one interface (edge-driver.ts): what each takes when it is added (checked by
 * edge-attributes.ts) and the driver a purge uses to reach it.
 *
 * - `addressed` kinds (Varnish, nginx) sit in front of Pictor at `url`: they confirm a purge at once or are
 *   taken out of rotation, since whatever routes clients can stop sending clients there.
 * - The others are CDNs purged through their APIs (edges/vendors/): a transient failure is tried again with
 *   backoff, a purge in progress is polled, a refusal is final and reported.
 */
export interface FieldRule {
  required: boolean;
  /** `id`: letters, digits, `-`, `_`; `hex32`: 32 hex digits; `token`: printable, no spaces; `flag`: a boolean; `endpoint`: an API's URL. */
  type: 'id' | 'hex32' | 'token' | 'flag' | 'endpoint';
  /** What a person is told the field is, in a refusal. */
  about: string;
}

/** What drivers are made with: one sender of PURGE requests per node, and the outbound guard for vendor APIs. */
export interface KindContext {
  varnish: EdgePurger;
  nginx: NginxPurger;
  /** Vendor APIs go through the outbound guard (sources/outbound-guard.ts), with a timeout per request. */
  outbound: { dispatcher: Dispatcher; allowList: readonly string[]; timeoutMs: number };
}

export interface EdgeKind {
  name: string;
  addressed: boolean;
  settings: Record<string, FieldRule>;
  /** Write-only: sealed at rest, never shown again. */
  secrets: Record<string, FieldRule>;
  driver(edge: EdgeRecord, context: KindContext): EdgeDriver;
}

const ENDPOINT: FieldRule = { required: false, type: 'endpoint', about: "the vendor API's base URL (default the vendor's own)" };
const API_TOKEN: FieldRule = { required: true, type: 'token', about: 'an API token allowed to purge' };

const KINDS = new Map<string, EdgeKind>();

export function registerEdgeKind(kind: EdgeKind): void {
  KINDS.set(kind.name, kind);
}

export function edgeKind(name: string): EdgeKind | undefined {
  return KINDS.get(name);
}

export function edgeKindNames(): string[] {
  return [...KINDS.keys()];
}

registerEdgeKind({
  name: 'varnish',
  addressed: true,
  settings: {},
  secrets: {},
  driver: (edge, context) => ({
    async purge(order) {
      const { failed } = await context.varnish.purge([{ name: edge.name, url: edge.url! }], order.keys);
      return failed.length === 0 ? { state: 'purged' } : { state: 'failed', error: failed[0]!.reason };
    },
  }),
});

registerEdgeKind({
  name: 'nginx',
  addressed: true,
  settings: {},
  secrets: {},
  driver: (edge, context) => ({
    async purge(order) {
      const reason = await context.nginx.purge({ name: edge.name, url: edge.url! }, order.keys);
      return reason === undefined ? { state: 'purged' } : { state: 'failed', error: reason };
    },
  }),
});

/** The vendor drivers (edges/vendors/) take this slot's place; until then a purge says the driver is missing. */
function missingDriver(kind: string): EdgeKind['driver'] {
  return () => ({ purge: async () => ({ state: 'failed', error: `this version of Pictor has no ${kind} driver` }) });
}

registerEdgeKind({
  name: 'cloudflare',
  addressed: false,
  settings: { zone_id: { required: true, type: 'hex32', about: "the zone's id (32 hex digits, on the zone's Overview page)" }, endpoint: ENDPOINT },
  secrets: { api_token: API_TOKEN },
  driver: missingDriver('cloudflare'),
});

registerEdgeKind({
  name: 'fastly',
  addressed: false,
  settings: {
    service_id: { required: true, type: 'id', about: "the service's id" },
    soft_purge: { required: false, type: 'flag', about: 'mark purged objects stale instead of removing them (true or false)' },
    endpoint: ENDPOINT,
  },
  secrets: { api_token: API_TOKEN },
  driver: missingDriver('fastly'),
});

registerEdgeKind({
  name: 'cloudfront',
  addressed: false,
  settings: {
    distribution_id: { required: true, type: 'id', about: "the distribution's id (e.g. E2QWRUHAPOMQZL)" },
    access_key_id: { required: true, type: 'id', about: 'the AWS access key id allowed to create invalidations' },
    endpoint: ENDPOINT,
  },
  secrets: { secret_access_key: { required: true, type: 'token', about: 'the secret of that access key' } },
  driver: missingDriver('cloudfront'),
});
