import type { FastifyInstance } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import { WEBHOOK_EVENT_TYPES, type DeliveryRecord, type WebhookRecord } from '../store/webhook-store.ts';
import type { WebhookService } from '../webhooks/webhook-service.ts';
import { requireKey } from './api-auth.ts';
import { document, methodNotAllowed } from './jsonapi.ts';
import { pathParams, requestDocument, resource, responses, secured, successDocument } from './openapi.ts';

const seconds = { type: 'integer', description: 'Unix seconds.' };

const WEBHOOK = resource('webhooks', {
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } },
  created_at: seconds,
  secret: { type: 'string', description: 'Only in the answer to the POST that generated it: `whsec_…`, shown once.' },
});

const ATTEMPT = {
  type: 'object',
  properties: {
    at: seconds,
    status: { type: ['integer', 'null'], description: "The receiver's HTTP status; null when there was no answer." },
    error: { type: ['string', 'null'], description: 'Why there was no answer (refused, timed out, connection failed).' },
    response: { type: ['string', 'null'], description: "The start of the receiver's answer (at most 1 KiB)." },
  },
};

const DELIVERY = resource('webhook_deliveries', {
  webhook_id: { type: 'string' },
  event: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
  message_id: { type: 'string', description: 'The `webhook-id` header: the same on every try.' },
  state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
  created_at: seconds,
  next_attempt_at: { type: ['integer', 'null'], description: 'Unix seconds; while pending.' },
  attempts: { type: 'array', items: ATTEMPT },
});

const WEBHOOK_BODY = requestDocument('webhooks', '{"data": {"type": "webhooks", "attributes": {"url": …, "events": […]}}}', {
  requireAttributes: true,
  attributes: {
    type: 'object',
    required: ['url', 'events'],
    properties: {
      url: { type: 'string', description: 'The receiver: https://… (plain http only to an address --outbound-allow admits).' },
      events: { type: 'array', items: { type: 'string' }, description: `Some of: ${WEBHOOK_EVENT_TYPES.join(', ')}.` },
      secret: { type: 'string', description: '`whsec_` and the base64 of 24 to 64 random bytes; absent, Pictor generates one and shows it once.' },
    },
  },
});

const ID = pathParams({ id: "The webhook's id." });
const DELIVERY_ID = pathParams({ id: "The webhook's id.", delivery_id: "The delivery's id." });

/**
 * Webhooks (Standard Webhooks): `GET|POST /api/v1/webhooks`, `GET|DELETE /api/v1/webhooks/:id`,
 * `GET /api/v1/webhooks/:id/deliveries` and `POST …/deliveries/:delivery_id/redeliver`, all needing the
 * `admin` permission. The secret is never listed: only the 201 of a POST that generated it shows it.
 */
export function webhooksRoutes(app: FastifyInstance, webhooks: WebhookService, keys: ApiKeys): void {
  const onRequest = requireKey(keys, 'admin');
  const doc = { tags: ['Webhooks'], ...secured('admin') };

  const list = { ...doc, summary: 'List the webhooks', response: responses({ 200: successDocument({ type: 'array', items: WEBHOOK }) }) };
  app.get('/api/v1/webhooks', { onRequest, schema: list }, async (request) => document((await webhooks.list()).map((each) => webhookResource(each)), request.apiKey));

  const add = { ...doc, summary: 'Add a webhook', body: WEBHOOK_BODY, response: responses({ 201: successDocument(WEBHOOK) }) };
  app.post('/api/v1/webhooks', { onRequest, schema: add }, async (request, reply) => {
    const { record, generatedSecret } = await webhooks.add((request.body as { data: { attributes: unknown } }).data.attributes);
    reply.status(201).header('location', `/api/v1/webhooks/${record.id}`).header('cache-control', 'no-store');
    return document(webhookResource(record, generatedSecret), request.apiKey);
  });

  const get = { ...doc, summary: 'A webhook', params: ID, response: responses({ 200: successDocument(WEBHOOK) }) };
  app.get<{ Params: { id: string } }>('/api/v1/webhooks/:id', { onRequest, schema: get }, async (request) =>
    document(webhookResource(await webhooks.require(request.params.id)), request.apiKey),
  );

  const remove = { ...doc, summary: 'Remove a webhook and its deliveries', params: ID, response: responses({ 204: null }) };
  app.delete<{ Params: { id: string } }>('/api/v1/webhooks/:id', { onRequest, schema: remove }, async (request, reply) => {
    await webhooks.remove(request.params.id);
    return reply.status(204).send();
  });

  const deliveries = {
    ...doc,
    summary: "A webhook's newest deliveries, with every attempt",
    params: ID,
    response: responses({ 200: successDocument({ type: 'array', items: DELIVERY }) }),
  };
  app.get<{ Params: { id: string } }>('/api/v1/webhooks/:id/deliveries', { onRequest, schema: deliveries }, async (request) =>
    document((await webhooks.deliveries(request.params.id)).map(deliveryResource), request.apiKey),
  );

  const redeliver = { ...doc, summary: 'Send a delivery again now', params: DELIVERY_ID, response: responses({ 202: successDocument(DELIVERY) }) };
  app.post<{ Params: { id: string; delivery_id: string } }>(
    '/api/v1/webhooks/:id/deliveries/:delivery_id/redeliver',
    { onRequest, schema: redeliver },
    async (request, reply) => {
      reply.status(202);
      return document(deliveryResource(await webhooks.redeliver(request.params.id, request.params.delivery_id)), request.apiKey);
    },
  );

  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/api/v1/webhooks', ...methodNotAllowed('GET, POST', 'List webhooks with GET, add one with POST.') });
  app.route({ method: ['PUT', 'PATCH', 'POST'], url: '/api/v1/webhooks/:id', ...methodNotAllowed('GET, DELETE', 'A webhook is read with GET and removed with DELETE; add one with POST /api/v1/webhooks.') });
}

export function webhookResource(webhook: WebhookRecord, generatedSecret?: string): Record<string, unknown> {
  const attributes: Record<string, unknown> = { url: webhook.url, events: webhook.events, created_at: Math.floor(webhook.createdAt / 1000) };
  if (generatedSecret !== undefined) attributes.secret = generatedSecret;
  return { type: 'webhooks', id: webhook.id, attributes };
}

export function deliveryResource(delivery: DeliveryRecord): Record<string, unknown> {
  return {
    type: 'webhook_deliveries',
    id: delivery.id,
    attributes: {
      webhook_id: delivery.webhookId,
      event: delivery.eventType,
      message_id: delivery.eventId,
      state: delivery.state,
      created_at: Math.floor(delivery.createdAt / 1000),
      next_attempt_at: delivery.state === 'pending' ? Math.floor(delivery.nextAttemptAt / 1000) : null,
      attempts: delivery.attempts.map((attempt) => ({ ...attempt, at: Math.floor(attempt.at / 1000) })),
    },
  };
}
