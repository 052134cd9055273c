import type { Command } from 'commander';
import { ApiKeys, parsePermissions } from '../auth/api-keys.ts';
import { storeOptions, withStores, type StoreFlags, type StoreUse } from './stores.ts';

function withKeys<T>(flags: StoreFlags, use: (keys: ApiKeys) => Promise<T>, how?: StoreUse): Promise<T> {
  return withStores(flags, (stores) => use(new ApiKeys(stores.apiKeys)), how);
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  storeOptions(
    keys
      .command('create')
      .description('create an API key; the key is printed once, as the last line')
      .requiredOption('--name <name>', 'a name to recognise the key by')
      .requiredOption('--permissions <list>', 'comma-separated: purge, sources, analytics, assets-browse, assets-edit, admin'),
  ).action(async (flags: StoreFlags & { name: string; permissions: string }) => {
    const permissions = parsePermissions(flags.permissions);
    const { key, record } = await withKeys(flags, (store) => store.create(flags.name, permissions));
    process.stdout.write(`Created API key ${record.id} "${record.name}" with ${record.permissions.join(', ')}. It is shown only once:\n${key}\n`);
  });

  storeOptions(keys.command('list').description('list API keys (never the keys themselves)'))
    .option('--json', 'print JSON')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const list = await withKeys(flags, (store) => store.list(), { readOnly: true });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = list.map((key) =>
        [key.id, key.name, key.permissions.join(','), key.createdAt.toISOString(), key.lastUsedAt?.toISOString() ?? '-', key.revokedAt ? 'revoked' : 'active'].join('\t'),
      );
      process.stdout.write(`${['ID\tNAME\tPERMISSIONS\tCREATED\tLAST USED\tSTATE', ...rows].join('\n')}\n`);
    });

  storeOptions(keys.command('revoke <id>').description('revoke an API key by id')).action(async (id: string, flags: StoreFlags) => {
    if (!(await withKeys(flags, (store) => store.revoke(id)))) throw new Error(`no active API key has the id "${id}"`);
    process.stdout.write(`Revoked API key ${id}.\n`);
  });
}
