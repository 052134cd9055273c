import type { AddressInfo } from 'node:net';
import { ApiKeys } from '../auth/api-keys.ts';
import { readClusterStatus } from '../cluster/cluster-status.ts';
import { defaultNodeId } from '../config/options.ts';
import { SETTINGS, settingName } from '../config/settings.ts';
import { AdminAccounts } from '../dashboard/accounts.ts';
import { TrustedDevices } from '../dashboard/devices.ts';
import { Sessions } from '../dashboard/session.ts';
import { SignInLimiter } from '../dashboard/sign-in-limiter.ts';
import type { DeliveryService } from '../delivery/delivery-service.ts';
import { createAdminServer, type AdminServices } from '../http/admin-server.ts';
import { NginxRecorder } from '../edges/nginx-recorder.ts';
import { createRenderServer } from '../http/render-server.ts';
import type { Logger } from '../observability/logger.ts';
import type { Bootstrapped } from '../bootstrap.ts';
import type { Stores } from '../store/stores.ts';
import type { NodeContext } from './node.ts';
import type { NodePurges } from './purges.ts';
import type { Services } from './services.ts';
import type { WebhookService } from '../webhooks/webhook-service.ts';

/** Asset refreshes per API key: imgix's 10 a minute. */
const ASSET_REFRESHES_PER_MINUTE = 10;

/** Why this node must not serve now (503 on renders and `/healthz`), or undefined when it may. */
export type Unavailable = () => string | undefined;

/** Opens the render listener; its port names the node (`--node-id`, else `<hostname>:<render port>`). */
export async function listenRender(
  node: NodeContext,
  delivery: DeliveryService,
  unavailable: Unavailable,
  stores: Stores,
): Promise<{ url: string; nodeId: string }> {
  const { options, logger, metrics, health } = node;
  // Responses through an nginx edge: their cache keys recorded first, so purges reach them (edges/nginx-purger.ts).
  const recorder = new NginxRecorder(stores.edgeCacheKeys, {
    edges: async () => (await stores.edges.list()).filter((edge) => edge.kind === 'nginx').map((edge) => edge.name),
    limit: options.nginxKeysMax,
    onError: (error) =>
      logger.warn({ err: error }, 'the cache key of a response through an nginx edge could not be recorded; the edge will not cache it'),
  });
  const render = createRenderServer(delivery, metrics, logger, health, unavailable, recorder);
  node.onStop('listeners', () => render.close());
  const address = await listenOrExplain('render', options.host, options.port, () => render.listen(options.host, options.port));
  logListening(logger, 'render', address);
  return { url: displayUrl(address), nodeId: options.nodeId ?? defaultNodeId(address.port) };
}

export interface AdminParts {
  stores: Stores;
  setup: Bootstrapped;
  services: Services;
  purging: NodePurges;
  webhooks: WebhookService;
  renderUrl: string;
  unavailable: Unavailable;
}

/** Opens the admin listener: the APIs, `/metrics`, `/healthz` and the dashboard. */
export async function listenAdmin(node: NodeContext, parts: AdminParts): Promise<string> {
  const { options, logger } = node;
  const admin = createAdminServer(adminServices(node, parts));
  node.onStop('listeners', () => admin.close());
  // Fastify would log one line per network interface of a wildcard address: this listener logs one, as the render one does.
  const level = admin.log.level;
  admin.log.level = 'warn';
  try {
    await listenOrExplain('admin', options.adminHost, options.adminPort, () => admin.listen({ host: options.adminHost, port: options.adminPort }));
  } finally {
    admin.log.level = level;
  }
  const address = admin.server.address() as AddressInfo;
  logListening(logger, 'admin', address);
  return displayUrl(address);
}

function adminServices(node: NodeContext, parts: AdminParts): AdminServices {
  const { options, hooks, metrics, health, logger } = node;
  const { stores, services, purging } = parts;
  const keys = new ApiKeys(stores.apiKeys);
  const clusterStatus = () =>
    readClusterStatus({ nodes: stores.nodes, purgeLog: stores.purgeLog, edges: () => purging.edges.list(), edgePurges: stores.edgePurges });
  metrics.probes.clusterStatus = clusterStatus;
  const dashboard = {
    keys,
    purges: purging.purges,
    edges: purging.edges,
    takedowns: services.takedowns,
    sources: services.sources,
    assets: services.assets,
    webhooks: parts.webhooks,
    clusterStatus,
    accounts: new AdminAccounts(stores.accounts),
    sessions: new Sessions(stores.sessions),
    defaultSourceId: parts.setup.defaultSourceId,
    baseDomain: options.baseDomain,
    publicUrl: options.publicUrl,
    renderUrl: () => parts.renderUrl,
    devices: new TrustedDevices(stores.devices),
    signInLimiter: hooks.signInLimiter?.(stores.signInFailures) ?? new SignInLimiter(stores.signInFailures),
  };
  const refreshLimiter = stores.rateLimiter('asset-refresh', ASSET_REFRESHES_PER_MINUTE / 60, ASSET_REFRESHES_PER_MINUTE);
  return {
    keys,
    purges: purging.purges,
    purgeLimiter: stores.rateLimiter('purge', options.purgeRateLimit),
    sources: services.sources,
    edges: purging.edges,
    clusterStatus,
    takedowns: services.takedowns,
    webhooks: parts.webhooks,
    assets: { service: services.assets, refreshLimiter, maxInputBytes: options.maxInputBytes },
    metrics,
    health,
    logger,
    dashboard,
    unavailable: parts.unavailable,
  };
}

/** Why a listener could not open, worded for the operator: the address, and the settings that change it. */
export class ListenError extends Error {}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'is already in use (by another Pictor, or another program)',
  EACCES: 'may not be used by this user (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** Runs `listen`; a refusal the operator can fix becomes a ListenError naming the flag and the variable to change. */
async function listenOrExplain<T>(listener: 'render' | 'admin', host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const problem = LISTEN_PROBLEMS[(error as NodeJS.ErrnoException).code ?? ''];
    if (problem === undefined) throw error;
    const [portSetting, hostSetting] = listener === 'render' ? [SETTINGS.port, SETTINGS.host] : [SETTINGS.adminPort, SETTINGS.adminHost];
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new ListenError(
      `the ${listener} listener cannot listen on ${address}: that address ${problem}. ` +
        `Choose another port with ${settingName(portSetting)} (or another address with ${settingName(hostSetting)}).`,
      { cause: error },
    );
  }
}

/** One line per listener: the address it is bound to, and the URL to reach it by. */
function logListening(logger: Logger, listener: 'render' | 'admin', address: AddressInfo): void {
  const bound = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  logger.info({ listener, address: bound }, `${listener} listener listening at ${displayUrl(address)} (bound to ${bound})`);
}

/** A URL a person can open: a wildcard bind address is shown as localhost. */
function displayUrl(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
