import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPictorError } from '../../errors.ts';
import { routingHosts } from '../../sources/domains.ts';
import type { SourceRecord, SourceType } from '../../store/source-record.ts';
import { formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import {
  emptyFormValues,
  fieldForPointer,
  formToAttributes,
  recordToFormValues,
  submittedFormValues,
  TYPE_FIELDS,
  typeField,
  type SourceFormValues,
} from '../source-form.ts';
import { confirmDisableView, sourceFormView, sourcesListView } from '../views/sources.ts';

export const SOURCES_PAGE_SIZE = 50;

export function sourcesRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { sources, baseDomain, defaultSourceId } = context.services;
  const hostsOf = (record: SourceRecord): string[] => routingHosts(record.deployment, baseDomain);

  const showForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    options: { record?: SourceRecord; values: SourceFormValues; errors?: Record<string, string>; formError?: string; status?: number },
  ): FastifyReply => {
    const flash = options.status === undefined ? context.flash.take(sessionOf(request)) : {};
    return sendPage(context, request, reply, {
      title: options.record ? `Source “${options.record.name}”` : 'New Source',
      current: 'sources',
      status: options.status,
      notice: flash.notice,
      warning: flash.warning,
      body: sourceFormView({
        csrfToken: sessionOf(request).csrfToken,
        mode: options.record ? 'update' : 'create',
        values: options.values,
        errors: options.errors ?? {},
        formError: options.formError,
        record: options.record,
        hosts: options.record ? hostsOf(options.record) : [],
        isDefault: options.record?.id === defaultSourceId,
      }),
    });
  };

  /** Runs a create or update; a validation error is shown next to its field (or above the form). */
  const save = async (request: FastifyRequest, reply: FastifyReply, current: SourceRecord | undefined): Promise<FastifyReply> => {
    const form = formOf(request);
    const { attributes, errors } = formToAttributes(form, current ? 'update' : 'create');
    const values = submittedFormValues(form, current);
    if (Object.keys(errors).length > 0) return showForm(request, reply, { record: current, values, errors, status: 400 });
    try {
      const record = current ? await sources.update(current.id, attributes) : await sources.create(attributes);
      request.log.info({ source: record.id, by: sessionOf(request).username }, current ? 'Source updated in the dashboard' : 'Source created in the dashboard');
      const saved = current ? 'Changes saved.' : `Source “${record.name}” created.`;
      context.flash.set(sessionOf(request), { notice: saved, warning: await sources.outboundWarning(record) });
      return redirect(reply, `/dashboard/sources/${record.id}`);
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      const field = fieldForPointer(error.pointer);
      const type = values.type;
      const key = field === undefined ? undefined : (TYPE_FIELDS[type as SourceType]?.includes(field as never) ? typeField(type, field) : field);
      return key && isShownField(key, type)
        ? showForm(request, reply, { record: current, values, errors: { [key]: error.message }, status: error.status })
        : showForm(request, reply, { record: current, values, formError: error.message, status: error.status });
    }
  };

  app.get('/sources', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const requested = typeof query.page === 'string' && /^\d{1,6}$/.test(query.page) ? Math.max(1, Number(query.page)) : 1;
    const listPage = (page: number) => sources.list({ page: { number: page - 1, size: SOURCES_PAGE_SIZE } });
    let page = requested;
    let result = await listPage(page);
    const lastPage = Math.max(1, Math.ceil(result.totalRecords / SOURCES_PAGE_SIZE));
    if (page > lastPage) result = await listPage((page = lastPage));
    const rows = result.records.map((record) => ({ record, hosts: hostsOf(record), isDefault: record.id === defaultSourceId }));
    return sendPage(context, request, reply, {
      title: 'Sources',
      current: 'sources',
      notice: context.flash.take(sessionOf(request)).notice,
      body: sourcesListView({ csrfToken: sessionOf(request).csrfToken, rows, page, pageSize: SOURCES_PAGE_SIZE, total: result.totalRecords }),
    });
  });

  app.get('/sources/new', async (request, reply) => showForm(request, reply, { values: emptyFormValues() }));
  app.post('/sources', async (request, reply) => save(request, reply, undefined));

  app.get<{ Params: { id: string } }>('/sources/:id', async (request, reply) => {
    const record = await sources.require(request.params.id);
    return showForm(request, reply, { record, values: recordToFormValues(record) });
  });
  app.post<{ Params: { id: string } }>('/sources/:id', async (request, reply) => save(request, reply, await sources.require(request.params.id)));

  // Disabling shows a confirmation page first (nothing changes), and acts only when sent again from it (`confirm=yes`).
  app.post<{ Params: { id: string } }>('/sources/:id/enabled', async (request, reply) => {
    const form = formOf(request);
    const enabled = form.get('enabled') === 'true';
    const back = form.get('back') === 'edit' ? 'edit' : 'list';
    const current = await sources.require(request.params.id);
    if (!enabled && current.enabled && form.get('confirm') !== 'yes') {
      return sendPage(context, request, reply, {
        title: 'Disable Source',
        current: 'sources',
        body: confirmDisableView(sessionOf(request).csrfToken, current, hostsOf(current), back),
      });
    }
    const record = await sources.update(current.id, { enabled });
    request.log.info({ source: record.id, enabled, by: sessionOf(request).username }, 'Source enabled or disabled in the dashboard');
    context.flash.set(sessionOf(request), { notice: `Source “${record.name}” ${enabled ? 'enabled' : 'disabled'}.` });
    return redirect(reply, back === 'edit' ? `/dashboard/sources/${record.id}` : '/dashboard/sources');
  });
}

const COMMON_FIELDS = new Set([
  'name',
  'enabled',
  'type',
  'custom_domains',
  'imgix_subdomains',
  'cache_ttl_behavior',
  'cache_ttl_value',
  'cache_ttl_error',
  'default_params',
  'image_missing',
  'image_missing_append_qs',
  'image_error',
  'image_error_append_qs',
  'secure_url_enabled',
  'annotation',
]);

/** The form has an input for this error key (else the error is shown above the form). */
function isShownField(key: string, type: string): boolean {
  return COMMON_FIELDS.has(key) || key.startsWith(`${type}.`);
}
