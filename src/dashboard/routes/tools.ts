import type { FastifyInstance, FastifyReply } from 'fastify';
import { isPictorError } from '../../errors.ts';
import { actor, formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { directRenderOrigin } from '../preview-url.ts';
import { summarizePurge } from '../views/purge-status.ts';
import { confirmPurgeSourceView, toolsView, type ToolsView } from '../views/tools.ts';
import type { TakedownForm } from '../views/takedowns.ts';
import { takedownsRoutes } from './takedowns.ts';

/** Form fields named by the Purge API's error pointers. */
const POINTER_FIELDS: Record<string, string> = { '/data/attributes/url': 'url', '/data/attributes/source_id': 'sub_image_source' };
const TAG_POINTER_FIELDS: Record<string, string> = { '/data/attributes/tag': 'tag', '/data/attributes/source_id': 'tag_source' };

/**
 * The URL exactly as it will be purged: WHATWG parsing percent-encodes unsafe characters (a space becomes
 * %20, as the Purge API reads a raw space), and the query and fragment are dropped (every derivative is
 * purged anyway). The page script shows the same before the form is sent.
 */
export function exactPurgeUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return `${url.origin}${url.pathname}`;
}

/** Active takedowns listed on the Tools page, newest first (the API lists them all). */
const ACTIVE_TAKEDOWNS_SHOWN = 50;

export function toolsRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { purges, sources, takedowns } = context.services;

  const view = async (request: Parameters<typeof sessionOf>[0], extra: Partial<ToolsView> = {}, takedownForm?: TakedownForm): Promise<ToolsView> => {
    const active = await takedowns.list({ activeOnly: true, offset: 0, limit: ACTIVE_TAKEDOWNS_SHOWN });
    const exampleBase = directRenderOrigin(context.services.publicUrl, context.services.renderUrl(), request.hostname) ?? 'https://images.example.com';
    return {
      csrfToken: sessionOf(request).csrfToken,
      sources: (await sources.list()).records,
      exampleBase,
      takedowns: { csrfToken: sessionOf(request).csrfToken, exampleBase, active: active.records, activeTotal: active.total, form: takedownForm },
      ...extra,
    };
  };
  const sourceName = async (id: string): Promise<string | undefined> => (await sources.get(id))?.name;

  app.get('/tools', async (request, reply) => {
    const { purge: purgeId } = request.query as { purge?: string };
    const extra: Partial<ToolsView> = {};
    if (typeof purgeId === 'string' && purgeId !== '') {
      const record = await purges.get(purgeId);
      if (record) extra.purge = summarizePurge(record, await sourceName(record.sourceId), await purges.edgeStates(record.id));
      else extra.purgeMissing = `No purge has the id "${purgeId}".`;
    }
    return sendPage(context, request, reply, {
      title: 'Tools',
      current: 'tools',
      notice: context.flash.take(sessionOf(request)).notice,
      body: toolsView(await view(request, extra)),
    });
  });

  app.post('/tools/purge', async (request, reply) => {
    const form = formOf(request);
    const raw = form.get('url') ?? '';
    const prefix = form.get('prefix') !== null;
    const subImageSource = form.get('sub_image_source') ?? '';
    const values = { url: raw, prefix, subImageSource, errors: {} as Record<string, string>, formError: undefined as string | undefined };
    const url = exactPurgeUrl(raw);
    if (raw.trim() === '') values.errors.url = 'Enter the URL of the asset to purge.';
    else if (url === undefined) values.errors.url = `Enter a full http(s) URL, e.g. https://images.example.com/image%20file.png (got "${raw.trim()}").`;
    else {
      try {
        const { record } = await purges.purge({
          url,
          match: prefix ? 'prefix' : 'exact',
          sourceId: subImageSource || undefined,
          subImage: subImageSource !== '',
          requestedBy: actor(request),
        });
        return redirect(reply, `/dashboard/tools?purge=${encodeURIComponent(record.id)}`);
      } catch (error) {
        if (!isPictorError(error) || error.status >= 500) throw error;
        const field = error.pointer === undefined ? undefined : POINTER_FIELDS[error.pointer];
        if (field) values.errors[field] = error.message;
        else values.formError = error.message;
      }
    }
    return sendPage(context, request, reply, { title: 'Tools', current: 'tools', status: 400, body: toolsView(await view(request, { form: values })) });
  });

  app.post('/tools/purge-tag', async (request, reply) => {
    const form = formOf(request);
    const values = { tag: form.get('tag') ?? '', sourceId: form.get('tag_source') ?? '', errors: {} as Record<string, string>, formError: undefined as string | undefined };
    if (values.tag.trim() === '') values.errors.tag = 'Enter the tag whose assets to purge.';
    else {
      try {
        const { record } = await purges.purgeTag({ tag: values.tag, sourceId: values.sourceId || undefined, requestedBy: actor(request) });
        return redirect(reply, `/dashboard/tools?purge=${encodeURIComponent(record.id)}`);
      } catch (error) {
        if (!isPictorError(error) || error.status >= 500) throw error;
        const field = error.pointer === undefined ? undefined : TAG_POINTER_FIELDS[error.pointer];
        if (field) values.errors[field] = error.message;
        else values.formError = error.message;
      }
    }
    return sendPage(context, request, reply, { title: 'Tools', current: 'tools', status: 400, body: toolsView(await view(request, { tagForm: values })) });
  });

  // A whole-Source purge shows a confirmation page first (nothing is purged), and acts only when sent again from it (`confirm=yes`).
  app.post('/tools/purge-source', async (request, reply) => {
    const form = formOf(request);
    const sourceId = form.get('source_id') ?? '';
    const refused = (status: number, error: string): Promise<FastifyReply> =>
      view(request, { sourceForm: { sourceId, error } }).then((body) => sendPage(context, request, reply, { title: 'Tools', current: 'tools', status, body: toolsView(body) }));
    if (sourceId === '') return refused(400, 'Choose the Source to purge.');
    const source = await sources.get(sourceId);
    if (!source) return refused(404, `No Source has the id "${sourceId}".`);
    if (form.get('confirm') !== 'yes') {
      return sendPage(context, request, reply, { title: 'Purge a whole Source', current: 'tools', body: confirmPurgeSourceView(sessionOf(request).csrfToken, source) });
    }
    try {
      const { record } = await purges.purgeSource(sourceId, actor(request));
      request.log.info({ purge: record.id, source: sourceId, by: actor(request) }, 'whole Source purged in the dashboard');
      return redirect(reply, `/dashboard/tools?purge=${encodeURIComponent(record.id)}`);
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      return refused(error.status, error.message);
    }
  });

  // A takedown form with errors is shown on the Tools page, where it was sent from.
  takedownsRoutes(app, context, async (request, reply, form) =>
    sendPage(context, request, reply, { title: 'Tools', current: 'tools', status: 400, body: toolsView(await view(request, {}, form)) }),
  );
}
