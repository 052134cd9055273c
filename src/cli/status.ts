import type { Command } from 'commander';
import type { ClusterStatus } from '../cluster/cluster-status.ts';
import type { Stores } from '../store/stores.ts';
import { storeOptions, withStores, type StoreFlags } from './stores.ts';

export function registerStatusCommand(program: Command): void {
  storeOptions(
    program
      .command('status')
      .description(
        "show the cluster read from its store: nodes (lease, last applied, lag, fenced), edges (rotation, last purge, last error) and the purge log's depth",
      ),
  )
    .option('--json', 'print the same document as GET /api/v1/status (its data.attributes)')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const { readClusterStatus, formatClusterStatus } = await import('../cluster/cluster-status.ts');
      const read = (stores: Stores): Promise<ClusterStatus> =>
        readClusterStatus({ nodes: stores.nodes, purgeLog: stores.purgeLog, edges: () => stores.edges.list(), edgePurges: stores.edgePurges });
      const status = await withStores(flags, read, { readOnly: true });
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status));
    });
}
