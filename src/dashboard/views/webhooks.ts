import { WEBHOOK_EVENT_TYPES, type DeliveryRecord, type WebhookRecord } from '../../store/webhook-store.ts';
import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formError, textField } from './fields.ts';
import { timeTag } from './format.ts';

export interface WebhookForm {
  url: string;
  events: readonly string[];
  errors: Record<string, string>;
  formError?: string | undefined;
}

export interface WebhooksView {
  csrfToken: string;
  webhooks: readonly { webhook: WebhookRecord; deliveries: readonly DeliveryRecord[] }[];
  /** A secret Pictor just generated: shown once. */
  newSecret?: { id: string; secret: string } | undefined;
  form?: WebhookForm | undefined;
}

export function webhooksView(view: WebhooksView): SafeHtml {
  const form = view.form ?? { url: '', events: [], errors: {} };
  return html`
${view.newSecret ? html`<section class="card" aria-labelledby="secret-title"><h2 id="secret-title">Secret of ${view.newSecret.id}</h2>
  <p>Shown once: verify the <code>webhook-signature</code> of each message with it.</p><p><code data-secret>${view.newSecret.secret}</code></p></section>` : ''}
<section class="card" aria-labelledby="new-webhook-title">
  <h2 id="new-webhook-title">Add a webhook</h2>
  <form method="post" action="/dashboard/webhooks" novalidate>
    ${csrfField(view.csrfToken)}
    ${formError(form.formError)}
    ${textField({ name: 'url', label: 'Receiver URL', value: form.url, required: true, error: form.errors.url, hint: 'https://…; a secret is generated and shown once.' })}
    <fieldset${form.errors.events ? html` class="has-error" aria-describedby="events-error"` : ''}>
      <legend>Events</legend>
      ${WEBHOOK_EVENT_TYPES.map(
        (event) => html`<div class="field check"><input type="checkbox" id="event-${event}" name="events" value="${event}"${form.events.includes(event) ? html` checked` : ''}>
        <label for="event-${event}">${event}</label></div>`,
      )}
      ${form.errors.events ? html`<p class="error" id="events-error">${form.errors.events}</p>` : ''}
    </fieldset>
    <button type="submit" class="primary">Add webhook</button>
  </form>
</section>
${view.webhooks.length === 0 ? html`<p>No webhooks yet.</p>` : view.webhooks.map((entry) => webhookCard(view.csrfToken, entry.webhook, entry.deliveries))}`;
}

function webhookCard(csrfToken: string, webhook: WebhookRecord, deliveries: readonly DeliveryRecord[]): SafeHtml {
  return html`<section class="card" aria-labelledby="${webhook.id}-title" data-webhook="${webhook.id}">
  <h2 id="${webhook.id}-title">${webhook.url}</h2>
  <p>${webhook.id} · ${webhook.events.join(', ')} · added ${timeTag(webhook.createdAt)}</p>
  <form method="post" action="/dashboard/webhooks/${webhook.id}/remove">${csrfField(csrfToken)}<button type="submit">Remove</button></form>
  ${deliveries.length === 0 ? html`<p>No deliveries yet.</p>` : html`<table>
    <thead><tr><th scope="col">Event</th><th scope="col">Message</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col"></th></tr></thead>
    <tbody>${deliveries.map((delivery) => deliveryRow(csrfToken, webhook.id, delivery))}</tbody>
  </table>`}
</section>`;
}

function deliveryRow(csrfToken: string, webhookId: string, delivery: DeliveryRecord): SafeHtml {
  const attempts = delivery.attempts.map(
    (attempt) => html`<li>${timeTag(attempt.at)}: ${attempt.status === null ? attempt.error ?? 'no answer' : `HTTP ${attempt.status}`}${
      attempt.response ? html` <code>${attempt.response}</code>` : ''
    }</li>`,
  );
  return html`<tr data-delivery="${delivery.id}"><td>${delivery.eventType}</td><td><code>${delivery.eventId}</code></td><td>${delivery.state}</td>
    <td>${attempts.length === 0 ? 'none yet' : html`<ol>${attempts}</ol>`}</td>
    <td><form method="post" action="/dashboard/webhooks/${webhookId}/deliveries/${delivery.id}/redeliver">${csrfField(csrfToken)}<button type="submit">Redeliver</button></form></td></tr>`;
}
