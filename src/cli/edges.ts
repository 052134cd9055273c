import type { Command } from 'commander';
import type { EdgeService } from '../edges/edge-service.ts';
import type { NginxPurger } from '../edges/nginx-purger.ts';
import { isPictorError } from '../errors.ts';
import { storeOptions, withStores, type StoreFlags, type StoreUse } from './stores.ts';

/** The API's attributes as flags: `zone_id` is `--zone-id`. */
const EDGE_FIELDS = [
  'name', 'kind', 'url', 'zone_id', 'service_id', 'distribution_id', 'access_key_id', 'endpoint', 'api_token', 'secret_access_key',
];
const FLAG_OF_FIELD: Record<string, string> = Object.fromEntries(
  [...EDGE_FIELDS, 'soft_purge'].map((field) => [field, `--${field.replaceAll('_', '-')}`]),
);

type AddFlags = StoreFlags & Record<string, string | boolean | undefined>;

/** The flags given, as the API's attributes. */
function attributesOf(flags: AddFlags): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const field of EDGE_FIELDS) {
    const value = flags[field.replace(/_(.)/g, (_, letter: string) => letter.toUpperCase())];
    if (value !== undefined) attributes[field] = value;
  }
  if (flags.softPurge !== undefined) attributes.soft_purge = flags.softPurge;
  return attributes;
}

/**
 * Works on the registry directly (the store `serve` uses), whether or not a server is running; errors are the
 * API's, with the flag to fix named.
 */
async function withEdges<T>(flags: StoreFlags, use: (edges: EdgeService) => Promise<T>, how?: StoreUse): Promise<T> {
  // The HTTP clients of the purgers are loaded by the commands that use them.
  const [{ EdgePurger }, { EdgeService }, { NginxPurger }] = await Promise.all([
    import('../edges/edge-purger.ts'), import('../edges/edge-service.ts'), import('../edges/nginx-purger.ts'),
  ]);
  const purger = new EdgePurger();
  let nginx: NginxPurger | undefined;
  try {
    return await withStores(
      flags,
      (stores) => use(new EdgeService(stores.edges, { varnish: purger, nginx: (nginx = new NginxPurger(stores.edgeCacheKeys)) })),
      how,
    );
  } catch (error) {
    if (!isPictorError(error)) throw error;
    const flag = FLAG_OF_FIELD[error.pointer?.split('/').at(-1) ?? ''];
    throw new Error(flag ? `${error.message.replace(/\.$/, '')} (${flag}).` : error.message);
  } finally {
    await purger.close();
    await nginx?.close();
  }
}

export function registerEdgesCommands(program: Command): void {
  const edges = program
    .command('edges')
    .description('manage the edges purged with every purge: Varnish, nginx, Cloudflare, Fastly, CloudFront (the same rules as /api/v1/edges)');

  storeOptions(edges.command('add').description('add an edge, in rotation (the secrets are stored encrypted and never shown again)'))
    .requiredOption('--name <name>', 'a name: lowercase letters, digits, "-", "_", "."')
    .option('--kind <kind>', 'varnish (default), nginx, cloudflare, fastly or cloudfront')
    .option('--url <url>', 'varnish, nginx: where purges go, http://HOST:PORT')
    .option('--zone-id <id>', 'cloudflare: the zone id')
    .option('--service-id <id>', 'fastly: the service id')
    .option('--soft-purge', 'fastly: mark purged objects stale instead of removing them')
    .option('--distribution-id <id>', 'cloudfront: the distribution id')
    .option('--access-key-id <id>', 'cloudfront: the AWS access key id')
    .option('--secret-access-key <secret>', 'cloudfront: the secret of that key')
    .option('--api-token <token>', 'cloudflare, fastly: an API token allowed to purge')
    .option('--endpoint <url>', "cloudflare, fastly, cloudfront: the API's base URL when not the vendor's own")
    .action(async (flags: AddFlags) => {
      const edge = await withEdges(flags, (service) => service.add(attributesOf(flags)));
      const where = [edge.kind === 'varnish' ? [] : [edge.kind], edge.url ?? []].flat().join(', ');
      process.stdout.write(`Added edge ${edge.name} (${where}), in rotation.\n`);
    });

  storeOptions(edges.command('list').description('list edges, and whether each is in rotation'))
    .option('--json', 'print an array of {name, kind, url, settings…, in_rotation} (never the secrets)')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const records = await withEdges(flags, (service) => service.list(), { readOnly: true });
      if (flags.json) {
        const listed = records.map((edge) => ({ name: edge.name, kind: edge.kind, url: edge.url, ...edge.settings, in_rotation: edge.inRotation }));
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        return;
      }
      const where = (edge: (typeof records)[number]): string =>
        edge.url ?? Object.values(edge.settings).filter((value) => typeof value === 'string')[0] ?? '';
      const status = (edge: (typeof records)[number]): string => (edge.inRotation ? 'in rotation' : `out: ${edge.reason ?? 'no reason given'}`);
      const rows = records.map((edge) => [edge.name, edge.kind, where(edge), status(edge)].join('\t'));
      process.stdout.write(`${['NAME\tKIND\tWHERE\tSTATUS', ...rows].join('\n')}\n`);
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
