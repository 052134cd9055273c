import type { Command } from 'commander';
import { openStores } from '../store/open-stores.ts';
import { keyFilePath, prependNewKey } from '../store/secret-keys.ts';
import type { Stores } from '../store/stores.ts';
import { announceStore, storeOptions, storeSettings, type StoreFlags } from './stores.ts';

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('manage the keys that encrypt secrets at rest (of Sources and webhooks)');

  storeOptions(
    secrets.command('rotate').description('put a new key first in <data>/secret.key (older keys kept) and encrypt every secret with it'),
  ).action(async (flags: StoreFlags) => {
      const { dataDir, databaseUrl, secretKeys } = storeSettings(flags);
      if (databaseUrl !== undefined) {
        throw new Error(
          'With --database, every node must hold the same keys, so a key file of one node is not rotated here. Rotate through ' +
            'PICTOR_SECRET_KEY on every node: put a new key first (e.g. from `openssl rand -base64 32`), keep the old one after it, ' +
            'restart the nodes one by one (each encrypts with the first key when it starts), then drop the old key.',
        );
      }
      if (secretKeys !== undefined) {
        throw new Error(
          'PICTOR_SECRET_KEY is set, so the key file is not used. Rotate it there: put a new key first ' +
            '(e.g. from `openssl rand -base64 32`), keep the old one after it, restart every server (each encrypts ' +
            'with the first key when it starts), then drop the old key.',
        );
      }
      announceStore({ dataDir, databaseUrl });
      // Every secret must open with the keys as they are before anything changes (and they must hold the key
      // a running server seals with).
      await withKeysOf(dataDir, (stores) => stores.sources.checkKeys());
      const file = keyFilePath(dataDir);
      const { added, kept } = prependNewKey(file);
      const { sealed, resealed } = await withKeysOf(dataDir, (stores) => stores.sources.sealAll());
      const plain = sealed > 0 ? ` (${sealed} of them were stored in plain text)` : '';
      process.stdout.write(
        [
          `Added the key ${added} first in ${file}, and kept ${kept.length} older key${kept.length === 1 ? '' : 's'} after it (${kept.join(', ')}):`,
          '  running servers still read secrets sealed with those, and take the new key when they meet it.',
          `Encrypted ${sealed + resealed} secret${sealed + resealed === 1 ? '' : 's'} of Sources and webhooks with the new key${plain}, ` +
            'in one transaction.',
          'Remove the older keys from the file once every server on this data directory has restarted.',
        ].join('\n') + '\n',
      );
    });
}

/** The data directory's stores with the keys of its key file as it is now (read again on each call). */
async function withKeysOf<T>(dataDir: string, use: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores({ dataDir, secrets: 'when-used' });
  try {
    return await use(stores);
  } finally {
    await stores.close();
  }
}
