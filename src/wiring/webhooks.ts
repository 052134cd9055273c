import { OutboundGuard } from '../sources/outbound-guard.ts';
import type { Stores } from '../store/stores.ts';
import { DeliveryWorker } from '../webhooks/delivery-worker.ts';
import { WebhookService } from '../webhooks/webhook-service.ts';
import type { NodeContext } from './node.ts';

export interface NodeWebhooks {
  service: WebhookService;
  worker: DeliveryWorker;
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
  return { service: new WebhookService(stores.webhooks, options.outboundAllow), worker };
}
