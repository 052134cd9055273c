import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPictorError } from '../../errors.ts';
import { formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { webhooksView, type WebhookForm } from '../views/webhooks.ts';

/** Form fields named by the webhook service's error pointers. */
const POINTER_FIELDS: Record<string, string> = { '/data/attributes/url': 'url', '/data/attributes/events': 'events' };

/**
 * Webhooks: the list with each one's newest deliveries and their attempts, the form that adds one (its
 * generated secret shown once, on the page the add redirects to), remove and redeliver; every form carries the
 * session's CSRF token, checked for every POST (index.ts).
 */
export function webhooksRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { webhooks } = context.services;
  const secrets = new Map<string, { id: string; secret: string }>();

  const show = async (request: FastifyRequest, reply: FastifyReply, form?: WebhookForm): Promise<FastifyReply> => {
    const session = sessionOf(request);
    const listed = await Promise.all((await webhooks.list()).map(async (webhook) => ({ webhook, deliveries: await webhooks.deliveries(webhook.id) })));
    const newSecret = secrets.get(session.idHash);
    secrets.delete(session.idHash);
    const flash = context.flash.take(session);
    const body = webhooksView({ csrfToken: session.csrfToken, webhooks: listed, newSecret, form });
    return sendPage(context, request, reply, { title: 'Webhooks', current: 'webhooks', notice: flash.notice, body, status: form ? 400 : 200 });
  };

  app.get('/webhooks', (request, reply) => show(request, reply));

  app.post('/webhooks', async (request, reply) => {
    const form = formOf(request);
    const values: WebhookForm = { url: form.get('url') ?? '', events: form.getAll('events'), errors: {} };
    try {
      const { record, generatedSecret } = await webhooks.add({ url: values.url, events: values.events });
      if (generatedSecret) secrets.set(sessionOf(request).idHash, { id: record.id, secret: generatedSecret });
      context.flash.set(sessionOf(request), { notice: `Webhook ${record.id} added for ${record.events.join(', ')}.` });
      return redirect(reply, '/dashboard/webhooks');
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      const field = error.pointer === undefined ? undefined : POINTER_FIELDS[error.pointer];
      if (field) values.errors[field] = error.message;
      else values.formError = error.message;
    }
    return show(request, reply, values);
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/remove', async (request, reply) => {
    await webhooks.remove(request.params.id);
    context.flash.set(sessionOf(request), { notice: `Webhook ${request.params.id} removed, with its deliveries.` });
    return redirect(reply, '/dashboard/webhooks');
  });

  app.post<{ Params: { id: string; delivery_id: string } }>('/webhooks/:id/deliveries/:delivery_id/redeliver', async (request, reply) => {
    const delivery = await webhooks.redeliver(request.params.id, request.params.delivery_id);
    context.flash.set(sessionOf(request), { notice: `${delivery.eventType} (${delivery.eventId}) will be sent again now.` });
    return redirect(reply, '/dashboard/webhooks');
  });
}
