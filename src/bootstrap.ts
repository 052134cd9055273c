import { randomBytes } from 'node:crypto';
import { ApiKeys } from './auth/api-keys.ts';
import { AdminAccounts } from './dashboard/accounts.ts';
import { DEFAULT_DEPLOYMENT, normalizeHost, type SourceRecord } from './store/source-record.ts';
import type { Stores } from './store/stores.ts';

/** Meta keys of the first start. */
const DEFAULT_SOURCE_META = 'default_source_id';
const INITIALIZED_META = 'initialized';

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
  /** The admin API key, when this call created it (the very first start): shown once, never stored. */
  firstApiKey: string | undefined;
  /** The dashboard's `admin` password, when this call created the account: shown once. */
  firstAdminPassword: string | undefined;
}

/**
 * What a node needs before it serves: the default Source (created on the first start, then kept in step with
 * the options), the first admin API key and the dashboard's `admin` account. Everything is checked and created
 * under `stores.exclusive`, so nodes starting at once on an empty database create one of each, and only the
 * node that created the key and the password gets them back to print.
 */
export async function bootstrap(stores: Stores, options: BootstrapOptions): Promise<Bootstrapped> {
  return stores.exclusive(async () => {
    const defaultSourceId = await ensureDefaultSource(stores, options);
    let firstApiKey: string | undefined;
    if ((await stores.meta.get(INITIALIZED_META)) === undefined) {
      firstApiKey = (await new ApiKeys(stores.apiKeys).create('admin (first start)', ['admin'])).key;
      await stores.meta.set(INITIALIZED_META, new Date().toISOString());
    }
    // On the first start (or the first since the dashboard exists), with a random password.
    const firstAdminPassword = await new AdminAccounts(stores.accounts).ensureAdmin();
    return { defaultSourceId, firstApiKey, firstAdminPassword };
  });
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
