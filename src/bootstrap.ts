import { randomBytes } from 'node:crypto';
import { DEFAULT_DEPLOYMENT, normalizeHost, type SourceRecord } from './store/source-record.ts';
import type { Stores } from './store/stores.ts';

/** The meta key of the default Source's id. */
const DEFAULT_SOURCE_META = 'default_source_id';

/** Loopback names always served by the default Source, so `npm start` works at http://localhost:3000/. */
const LOOPBACK_DOMAINS = ['localhost', '127.0.0.1', '[::1]'];

export interface BootstrapOptions {
  /** The folder the default Source serves. */
  assetsDir: string;
  /** Its host becomes a domain of the default Source. */
  publicUrl: URL | undefined;
}

export interface Bootstrapped {
  defaultSourceId: string;
}

/**
 * What a node needs before it serves: the default Source (created on the first start, then kept in step with
 * the options), checked and created under `stores.exclusive`, so nodes starting at once on an empty database
 * create one. The credentials shown once are not made here but once the node is listening (first-start.ts).
 */
export async function bootstrap(stores: Stores, options: BootstrapOptions): Promise<Bootstrapped> {
  return stores.exclusive(async () => ({ defaultSourceId: await ensureDefaultSource(stores, options) }));
}

/** Creates the default folder Source, or keeps its folder and domains in step with the options; returns its id. */
async function ensureDefaultSource(stores: Stores, options: BootstrapOptions): Promise<string> {
  const existingId = await stores.meta.get(DEFAULT_SOURCE_META);
  const existing = existingId === undefined ? undefined : await stores.sources.get(existingId);
  const domains = [...LOOPBACK_DOMAINS];
  if (options.publicUrl) domains.push(normalizeHost(options.publicUrl.host));
  const record: SourceRecord = existing ?? {
    id: randomBytes(12).toString('hex'),
    name: 'default',
    enabled: true,
    secureUrlToken: undefined,
    dateDeployed: Math.floor(Date.now() / 1000),
    deployment: { ...DEFAULT_DEPLOYMENT, type: 'folder' },
  };
  const customDomains = [...new Set([...domains, ...record.deployment.custom_domains])];
  const wanted: SourceRecord = { ...record, deployment: { ...record.deployment, folder_path: options.assetsDir, custom_domains: customDomains } };
  // Unchanged, nothing is written: a server can start on a full disk when it has nothing new to record.
  if (!existing || JSON.stringify(existing) !== JSON.stringify(wanted)) await stores.sources.upsert(wanted);
  await stores.meta.set(DEFAULT_SOURCE_META, record.id);
  return record.id;
}
