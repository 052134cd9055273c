import type { EdgeRecord, EdgeSettings } from '../store/edge-store.ts';
import type { EdgeDriver } from './edge-driver.ts';
import type { EdgePurger } from './edge-purger.ts';
import type { NginxPurger } from './nginx-purger.ts';
import type { VendorDrivers } from './vendor-drivers.ts';
import { CloudflareDriver, parseCloudflareSettings } from './vendors/cloudflare.ts';
import { CloudFrontDriver, parseCloudFrontSettings } from './vendors/cloudfront.ts';
import { FastlyDriver, parseFastlySettings } from './vendors/fastly.ts';

/**
 * The kinds of edge, behind one interface (edge-driver.ts): what each takes when it is added (`parse`, called
 * by edge-attributes.ts) and the driver a purge uses to reach it.
 *
 * - `addressed` kinds (Varnish, nginx) sit in front of Pictor at `url`: they confirm a purge at once or are
 *   taken out of rotation, since whatever routes clients can stop sending clients there.
 * - The others are CDNs purged through their APIs (edges/vendors/): a transient failure is tried again with
 *   backoff, a purge in progress is polled, a refusal is final and reported.
 */
export interface FieldRule {
  required: boolean;
  /** A boolean (a checkbox in the dashboard) rather than text. */
  flag?: boolean;
  /** What a person is told the field is (the dashboard's hint). */
  about: string;
}

/** What drivers are made with: one sender of PURGE requests per node, and one driver per CDN edge. */
export interface KindContext {
  varnish: EdgePurger;
  nginx: NginxPurger;
  /** Vendor drivers, each behind the outbound guard with a timeout per request (vendors/vendor-http.ts). */
  vendors: VendorDrivers;
}

/** What an edge of a kind stores besides its name and url. */
export interface KindFields {
  settings: EdgeSettings;
  /** Write-only: sealed at rest, never shown again. */
  secrets: Record<string, string>;
}

export interface EdgeKind {
  name: string;
  addressed: boolean;
  /** The fields the kind takes, for the refusal of any other and for the dashboard's form. */
  settings: Record<string, FieldRule>;
  secrets: Record<string, FieldRule>;
  /** Checks the kind's own fields (the only check: a 400 pointing at the field) and answers what is stored. */
  parse(attributes: Record<string, unknown>): KindFields;
  driver(edge: EdgeRecord, context: KindContext): EdgeDriver;
}

const ENDPOINT: FieldRule = { required: false, about: "the vendor API's base URL (default the vendor's own)" };
const API_TOKEN: FieldRule = { required: true, about: 'an API token allowed to purge' };
const NO_FIELDS = (): KindFields => ({ settings: {}, secrets: {} });

/** The stored form of parsed fields: those given, by their API names. */
function stored(settings: Record<string, string | boolean | undefined>, secrets: Record<string, string>): KindFields {
  const given = Object.entries(settings).filter((entry): entry is [string, string | boolean] => entry[1] !== undefined);
  return { settings: Object.fromEntries(given), secrets };
}

/** A stored setting that is text; undefined when absent. */
function text(settings: EdgeSettings, field: string): string | undefined {
  const value = settings[field];
  return typeof value === 'string' ? value : undefined;
}

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
  parse: NO_FIELDS,
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
  parse: NO_FIELDS,
  driver: (edge, context) => ({
    async purge(order) {
      const reason = await context.nginx.purge({ name: edge.name, url: edge.url! }, order.keys);
      return reason === undefined ? { state: 'purged' } : { state: 'failed', error: reason };
    },
  }),
});

// The vendors' own rules check their fields (vendors/*.ts parse*Settings); the drivers are made from what was stored.
registerEdgeKind({
  name: 'cloudflare',
  addressed: false,
  settings: { zone_id: { required: true, about: "the zone's id (32 hex digits, on the zone's Overview page)" }, endpoint: ENDPOINT },
  secrets: { api_token: API_TOKEN },
  parse: (attributes) => {
    const { zoneId, apiToken, endpoint } = parseCloudflareSettings(attributes);
    return stored({ zone_id: zoneId, endpoint }, { api_token: apiToken });
  },
  driver: (edge, context) =>
    context.vendors.get(edge, (options) => {
      const { settings, secrets } = edge;
      const endpoint = text(settings, 'endpoint');
      return new CloudflareDriver({ zoneId: text(settings, 'zone_id') ?? '', apiToken: secrets.api_token ?? '', endpoint }, options);
    }),
});

registerEdgeKind({
  name: 'fastly',
  addressed: false,
  settings: {
    service_id: { required: true, about: "the service's id" },
    soft_purge: { required: false, flag: true, about: 'mark purged objects stale instead of removing them (true or false)' },
    endpoint: ENDPOINT,
  },
  secrets: { api_token: API_TOKEN },
  parse: (attributes) => {
    const { serviceId, apiToken, softPurge, endpoint } = parseFastlySettings(attributes);
    return stored({ service_id: serviceId, soft_purge: softPurge, endpoint }, { api_token: apiToken });
  },
  driver: (edge, context) =>
    context.vendors.get(edge, (options) => {
      const { settings } = edge;
      const softPurge = settings.soft_purge === true;
      return new FastlyDriver(
        { serviceId: text(settings, 'service_id') ?? '', apiToken: edge.secrets.api_token ?? '', softPurge, endpoint: text(settings, 'endpoint') },
        options,
      );
    }),
});

registerEdgeKind({
  name: 'cloudfront',
  addressed: false,
  settings: {
    distribution_id: { required: true, about: "the distribution's id (e.g. E2QWRUHAPOMQZL)" },
    access_key_id: { required: true, about: 'the AWS access key id allowed to create invalidations' },
    endpoint: ENDPOINT,
  },
  secrets: { secret_access_key: { required: true, about: 'the secret of that access key' } },
  parse: (attributes) => {
    const { distributionId, accessKeyId, secretAccessKey, endpoint } = parseCloudFrontSettings(attributes);
    return stored({ distribution_id: distributionId, access_key_id: accessKeyId, endpoint }, { secret_access_key: secretAccessKey });
  },
  driver: (edge, context) =>
    context.vendors.get(edge, (options) => {
      const { settings } = edge;
      const ids = { distributionId: text(settings, 'distribution_id') ?? '', accessKeyId: text(settings, 'access_key_id') ?? '' };
      return new CloudFrontDriver({ ...ids, secretAccessKey: edge.secrets.secret_access_key ?? '', endpoint: text(settings, 'endpoint') }, options);
    }),
});
