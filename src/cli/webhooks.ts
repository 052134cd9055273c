import type { Command } from 'commander';
import { isPictorError } from '../errors.ts';
import type { WebhookService } from '../webhooks/webhook-service.ts';
import { storeOptions, withStores, type StoreFlags, type StoreUse } from './stores.ts';

const FLAG_OF_FIELD: Record<string, string> = { url: '--url', events: '--events', secret: '--secret' };

/** Works on the store `serve` uses, whether or not a server runs; errors are the API's, with the flag to fix named. */
async function withWebhooks<T>(flags: StoreFlags & { outboundAllow?: string }, use: (webhooks: WebhookService) => Promise<T>, how?: StoreUse): Promise<T> {
  const allow = (flags.outboundAllow ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  // The outbound guard's HTTP client comes with the service: loaded by these commands only.
  const { WebhookService } = await import('../webhooks/webhook-service.ts');
  try {
    return await withStores(flags, (stores) => use(new WebhookService(stores.webhooks, allow)), how);
  } catch (error) {
    if (!isPictorError(error)) throw error;
    const flag = FLAG_OF_FIELD[error.pointer?.split('/').at(-1) ?? ''];
    throw new Error(flag ? `${error.message.replace(/\.$/, '')} (${flag}).` : error.message);
  }
}

export function registerWebhooksCommands(program: Command): void {
  const webhooks = program.command('webhooks').description('manage webhooks: signed notifications of purges, takedowns and refreshes (as /api/v1/webhooks)');

  storeOptions(webhooks.command('add').description('add a webhook; a secret Pictor generates is printed once'))
    .requiredOption('--url <url>', 'the receiver: https://… (http only to an address --outbound-allow admits)')
    .requiredOption('--events <list>', 'comma-separated: purge.completed, purge.failed, takedown.created, takedown.lifted, asset.refreshed')
    .option('--secret <whsec>', 'whsec_ and the base64 of 24 to 64 random bytes (default: generated)')
    .option('--outbound-allow <list>', 'the IPs/CIDRs serve is started with, for a receiver on a private address')
    .action(async (flags: StoreFlags & { url: string; events: string; secret?: string; outboundAllow?: string }) => {
      const events = flags.events.split(',').map((event) => event.trim()).filter((event) => event !== '');
      const { record, generatedSecret } = await withWebhooks(flags, (service) => service.add({ url: flags.url, events, secret: flags.secret }));
      process.stdout.write(`Added webhook ${record.id} for ${record.events.join(', ')} at ${record.url}.\n`);
      if (generatedSecret) process.stdout.write(`Secret (shown once; verify signatures with it): ${generatedSecret}\n`);
    });

  storeOptions(webhooks.command('list').description('list webhooks (never their secrets)'))
    .option('--json', 'print an array of {id, url, events, created_at}')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const records = await withWebhooks(flags, (service) => service.list(), { readOnly: true });
      const rows = records.map((webhook) => ({ id: webhook.id, url: webhook.url, events: webhook.events, created_at: new Date(webhook.createdAt).toISOString() }));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${['ID\tURL\tEVENTS', ...rows.map((row) => [row.id, row.url, row.events.join(',')].join('\t'))].join('\n')}\n`);
    });

  storeOptions(webhooks.command('remove <id>').description('remove a webhook and its deliveries')).action(async (id: string, flags: StoreFlags) => {
    await withWebhooks(flags, (service) => service.remove(id));
    process.stdout.write(`Removed webhook ${id}.\n`);
  });
}
