import type { Command } from 'commander';
import type { EdgeService } from '../edges/edge-service.ts';
import { isPictorError } from '../errors.ts';
import { storeOptions, withStores, type StoreFlags, type StoreUse } from './stores.ts';

const FLAG_OF_FIELD: Record<string, string> = { name: '--name', url: '--url' };

/**
 * Works on the registry directly (the store `serve` uses), whether or not a server is running; errors are the
 * API's, with the flag to fix named.
 */
async function withEdges<T>(flags: StoreFlags, use: (edges: EdgeService) => Promise<T>, how?: StoreUse): Promise<T> {
  // The HTTP client of the purger is loaded by the commands that use it.
  const [{ EdgePurger }, { EdgeService }] = await Promise.all([import('../edges/edge-purger.ts'), import('../edges/edge-service.ts')]);
  const purger = new EdgePurger();
  try {
    return await withStores(flags, (stores) => use(new EdgeService(stores.edges, purger)), how);
  } catch (error) {
    if (!isPictorError(error)) throw error;
    const flag = FLAG_OF_FIELD[error.pointer?.split('/').at(-1) ?? ''];
    throw new Error(flag ? `${error.message.replace(/\.$/, '')} (${flag}).` : error.message);
  } finally {
    await purger.close();
  }
}

export function registerEdgesCommands(program: Command): void {
  const edges = program.command('edges').description('manage the Varnish edges purged with every purge (the same rules as /api/v1/edges)');

  storeOptions(edges.command('add').description('add an edge, in rotation'))
    .requiredOption('--name <name>', 'a name: lowercase letters, digits, "-", "_", "."')
    .requiredOption('--url <url>', 'where PURGE requests go: http://HOST:PORT')
    .action(async (flags: StoreFlags & { name: string; url: string }) => {
      const edge = await withEdges(flags, (service) => service.add({ name: flags.name, url: flags.url }));
      process.stdout.write(`Added edge ${edge.name} (${edge.url}), in rotation.\n`);
    });

  storeOptions(edges.command('list').description('list edges, and whether each is in rotation'))
    .option('--json', 'print an array of {name, url, in_rotation}')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const records = await withEdges(flags, (service) => service.list(), { readOnly: true });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(records.map((edge) => ({ name: edge.name, url: edge.url, in_rotation: edge.inRotation })), null, 2)}\n`);
        return;
      }
      const rows = records.map((edge) => [edge.name, edge.url, edge.inRotation ? 'in rotation' : `out: ${edge.reason ?? 'no reason given'}`].join('\t'));
      process.stdout.write(`${['NAME\tURL\tSTATUS', ...rows].join('\n')}\n`);
    });

  storeOptions(edges.command('remove <name>').description('remove an edge: it is no longer purged')).action(async (name: string, flags: StoreFlags) => {
    await withEdges(flags, (service) => service.remove(name));
    process.stdout.write(`Removed edge ${name}.\n`);
  });

  storeOptions(edges.command('readmit <name>').description('flush the edge, then put it back in rotation (returns once both are done)')).action(
    async (name: string, flags: StoreFlags) => {
      await withEdges(flags, (service) => service.readmit(name));
      process.stdout.write(`Edge ${name} was flushed and is back in rotation.\n`);
    },
  );
}
