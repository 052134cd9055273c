import './warm-up.ts';
import './threadpool.ts';
import '../node-support.ts';
import { Command } from 'commander';
import { SchemaTooNewError } from '../store/schema-version.ts';
import { storeFault } from '../store/store-errors.ts';
import { VERSION } from '../version.ts';
import { registerAdminCommands } from './admin.ts';
import { registerBackupCommand } from './backup.ts';
import { registerEdgesCommands } from './edges.ts';
import { registerWebhooksCommands } from './webhooks.ts';
import { registerKeysCommands } from './keys.ts';
import { registerPurgeCommand } from './purge.ts';
import { registerSecretsCommands } from './secrets.ts';
import { registerServeCommand } from './serve.ts';
import { registerSourcesCommands } from './sources.ts';
import { registerStatusCommand } from './status.ts';
import { NoStoreError } from './stores.ts';
import { registerNginxConfCommand } from './nginx-conf.ts';
import { registerVclCommand } from './vcl.ts';

const program = new Command()
  .name('pictor')
  .description('Pictor: a self-hosted, imgix-compatible image CDN with durable, race-free purging')
  .version(VERSION)
  .showHelpAfterError();

registerServeCommand(program);
registerKeysCommands(program);
registerPurgeCommand(program);
registerSourcesCommands(program);
registerAdminCommands(program);
registerSecretsCommands(program);
registerVclCommand(program);
registerNginxConfCommand(program);
registerEdgesCommands(program);
registerWebhooksCommands(program);
registerBackupCommand(program);
registerStatusCommand(program);

// A store that cannot write (a full disk, a lock held too long) is said as such: nothing was recorded, and the
// command exits non-zero without printing its result.
program.parseAsync(process.argv).catch((error: unknown) => {
  const message =
    error instanceof SchemaTooNewError
      ? `the store cannot be used by Pictor ${VERSION}: ${error.message}`
      : (storeFault(error)?.message ?? (error instanceof Error ? error.message : String(error)));
  process.stderr.write(`pictor: ${message}\n`);
  process.exit(error instanceof NoStoreError || error instanceof SchemaTooNewError ? 2 : 1);
});
