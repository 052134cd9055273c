import { bootstrap, type Bootstrapped } from '../bootstrap.ts';
import { SourceRegistry, type RegistryOptions } from '../sources/registry.ts';
import { openStores } from '../store/open-stores.ts';
import type { Stores } from '../store/stores.ts';
import type { NodeContext } from './node.ts';

export interface NodeStores {
  stores: Stores;
  /** The Sources in memory, followed as other processes or nodes change them. */
  sources: SourceRegistry;
  setup: Bootstrapped;
}

/**
 * The stores, and what must hold before anything serves: every secret (Sources', webhooks') sealed with the
 * current key (a secret the keys cannot open stops the start), the first-start setup (default Source, first
 * admin key, dashboard password; safe with nodes starting at once), and the Sources in memory. A missing or
 * wrong secret key, or a store that cannot be used, stops the start here (the caller reports it), with the
 * stores closed again.
 */
export async function openNodeStores(node: NodeContext): Promise<NodeStores> {
  const { options, logger, health } = node;
  const stores = await openStores({ ...options, onWriteOutcome: (problem) => health.report('store', problem) });
  let sources: SourceRegistry | undefined;
  const close = async (): Promise<void> => {
    await sources?.close();
    await stores.close();
  };
  try {
    const { sealed, resealed } = await stores.sources.sealAll();
    if (sealed + resealed > 0) logger.info({ sealed, resealed }, 'secrets of Sources and webhooks encrypted with the current key');
    const setup = await bootstrap(stores, options);
    sources = await SourceRegistry.open(stores.sources, registryOptions(node), setup.defaultSourceId);
    node.onStop('stores', close);
    return { stores, sources, setup };
  } catch (error) {
    await close();
    throw error;
  }
}

function registryOptions({ options, hooks, logger }: NodeContext): RegistryOptions {
  return {
    assetsDir: options.assetsDir,
    folderRoots: options.folderRoots,
    publicUrl: options.publicUrl,
    maxInputBytes: options.maxInputBytes,
    outboundAllow: options.outboundAllow,
    originTimeoutSeconds: options.originTimeoutSeconds,
    baseDomain: options.baseDomain,
    originInterceptor: hooks.originInterceptor,
    onError: (error: unknown) => logger.warn({ err: error }, 'Sources changed elsewhere could not be read; serving the ones in memory'),
  };
}
