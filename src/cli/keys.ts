import path from 'node:path';
import type { Command } from 'commander';
import { ApiKeys, parsePermissions } from '../auth/api-keys.ts';
import { DEFAULTS } from '../config/options.ts';
import { ApiKeyStore } from '../store/api-key-store.ts';
import { openDatabase } from '../store/db.ts';

/** Works on the data directory directly, whether or not a server is running on it (SQLite WAL). */
function withKeys<T>(dataDir: string | undefined, use: (keys: ApiKeys) => T): T {
  const db = openDatabase(path.resolve(dataDir ?? process.env.PICTOR_DATA_DIR ?? DEFAULTS.dataDir));
  try {
    return use(new ApiKeys(new ApiKeyStore(db)));
  } finally {
    db.close();
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key; the key is printed once, as the last line')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .requiredOption('--permissions <list>', 'comma-separated: purge, sources, analytics, assets-browse, assets-edit, admin')
    .option('--data <dir>', 'data directory (env PICTOR_DATA_DIR, default ./.pictor)')
    .action((flags: { name: string; permissions: string; data?: string }) => {
      const permissions = parsePermissions(flags.permissions);
      const { key, record } = withKeys(flags.data, (store) => store.create(flags.name, permissions));
      process.stdout.write(`Created API key ${record.id} "${record.name}" with ${record.permissions.join(', ')}. It is shown only once:\n${key}\n`);
    });

  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--data <dir>', 'data directory (env PICTOR_DATA_DIR, default ./.pictor)')
    .option('--json', 'print JSON')
    .action((flags: { data?: string; json?: boolean }) => {
      const list = withKeys(flags.data, (store) => store.list());
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = list.map((key) =>
        [key.id, key.name, key.permissions.join(','), key.createdAt.toISOString(), key.lastUsedAt?.toISOString() ?? '-', key.revokedAt ? 'revoked' : 'active'].join('\t'),
      );
      process.stdout.write(`${['ID\tNAME\tPERMISSIONS\tCREATED\tLAST USED\tSTATE', ...rows].join('\n')}\n`);
    });

  keys
    .command('revoke <id>')
    .description('revoke an API key by id')
    .option('--data <dir>', 'data directory (env PICTOR_DATA_DIR, default ./.pictor)')
    .action((id: string, flags: { data?: string }) => {
      if (!withKeys(flags.data, (store) => store.revoke(id))) throw new Error(`no active API key has the id "${id}"`);
      process.stdout.write(`Revoked API key ${id}.\n`);
    });
}
