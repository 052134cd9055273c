import type { Command } from 'commander';
import { getMeta, openDatabase } from '../store/db.ts';
import { checkSameKeys, keyFilePath, openSecrets, prependNewKey } from '../store/secret-keys.ts';
import { SEALING_KEY_META } from '../store/source-secrets.ts';
import { SqliteSourceStore } from '../store/source-store.ts';
import { announceStore, storeOptions, storeSettings, type StoreFlags } from './stores.ts';

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('manage the keys that encrypt Source secrets at rest');

  storeOptions(
    secrets.command('rotate').description('put a new key first in <data>/secret.key (older keys kept) and encrypt every Source secret with it'),
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
      const db = openDatabase(dataDir);
      try {
        // Every secret must open with the keys as they are before anything changes.
        const before = openSecrets(db, dataDir, undefined);
        checkSameKeys(getMeta(db, SEALING_KEY_META), before);
        await new SqliteSourceStore(db, before).all();

        const file = keyFilePath(dataDir);
        const { added, kept } = prependNewKey(file);
        const { sealed, resealed } = await new SqliteSourceStore(db, openSecrets(db, dataDir, undefined)).sealAll();
        const plain = sealed > 0 ? ` (${sealed} of them were stored in plain text)` : '';
        process.stdout.write(
          [
            `Added the key ${added} first in ${file}, and kept ${kept.length} older key${kept.length === 1 ? '' : 's'} after it (${kept.join(', ')}):`,
            '  running servers still read secrets sealed with those, and take the new key when they meet it.',
            `Encrypted ${sealed + resealed} Source secret${sealed + resealed === 1 ? '' : 's'} with the new key${plain}, in one transaction.`,
            'Remove the older keys from the file once every server on this data directory has restarted.',
          ].join('\n') + '\n',
        );
      } finally {
        db.close();
      }
    });
}
