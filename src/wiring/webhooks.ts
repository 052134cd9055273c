import { OutboundGuard } from '../sources/outbound-guard.ts';
import type { Stores } from '../store/stores.ts';
import { DeliveryWorker } from '../webhooks/delivery-worker.ts';
import { WebhookRetention } from '../webhooks/retention.ts';
import { WebhookService } from '../webhooks/webhook-service.ts';
import type { NodeContext } from './node.ts';

/** How often delivered and failed deliveries past the retention are deleted (webhooks/retention.ts), as for purges. */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface NodeWebhooks {
  service: WebhookService;
  worker: DeliveryWorker;
  retention: WebhookRetention;
}

/**
 * Webhooks: the registry's rules, and this node's delivery worker, which sends the outbox the purges,
 * takedowns and refreshes write (their outboxes are connected in wiring/purges.ts and wiring/services.ts).
 * Every node of a cluster runs a worker; each delivery is claimed by one of them.
 */
export async function startWebhooks(node: NodeContext, stores: Stores, nodeId: string): Promise<NodeWebhooks> {
  const { options, logger } = node;
  const timeoutMs = options.webhookTimeoutSeconds * 1000;
  const guard = new OutboundGuard(options.outboundAllow, { connectTimeoutMs: timeoutMs });
  const worker = new DeliveryWorker(stores.webhooks, {
    nodeId: () => nodeId,
    guard,
    timeoutMs,
    retryWindowMs: options.webhookRetrySeconds * 1000,
    onError: (error) => logger.warn({ err: error }, 'webhook deliveries could not be read or recorded; trying again'),
    onAttempt: (delivery, attempt, outcome) => {
      if (outcome.state === 'delivered') return;
      const level = outcome.state === 'failed' ? 'warn' : 'debug';
      logger[level]({ webhook: delivery.webhookId, delivery: delivery.id, status: attempt.status, error: attempt.error }, `webhook delivery ${outcome.state}`);
    },
  });
  node.onStop('background', () => worker.stop());
  node.onStop('parts', () => guard.close());
  await worker.start();
  return { service: new WebhookService(stores.webhooks, options.outboundAllow), worker, retention: startRetention(node, stores) };
}

function startRetention(node: NodeContext, stores: Stores): WebhookRetention {
  const { options, logger } = node;
  const retention = new WebhookRetention(stores.webhooks, {
    retentionMs: options.webhookRetentionSeconds * 1000,
    intervalMs: RETENTION_INTERVAL_MS,
    onPruned: (deleted) => {
      if (deleted > 0) logger.info({ deleted }, 'webhook deliveries past the retention deleted');
    },
    onError: (error) => logger.warn({ err: error }, 'webhook deliveries past the retention could not be deleted; trying again later'),
  });
  retention.start();
  node.onStop('background', () => retention.stop());
  return retention;
}
