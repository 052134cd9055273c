import type { FastifyInstance } from 'fastify';
import { encodeCursor, parseAssetQuery, pathFromUrl } from '../../assets/asset-document.ts';
import { isPictorError } from '../../errors.ts';
import type { AssetRecord } from '../../store/asset-store.ts';
import { actor, formOf, redirect, sendPage, sessionOf, type DashboardContext } from '../context.ts';
import { assetsView, SORT_OPTIONS, type AssetsFilters } from '../views/assets.ts';

export const ASSETS_PAGE_SIZE = 50;

/**
 * The Assets page: a Source's assets a page at a time (the Assets API's cursor paging, filters and sorts), with
 * their video state and a Refresh button that does what `POST …/assets/refresh/<path>` does.
 */
export function assetsRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { sources, defaultSourceId } = context.services;
  const assets = context.services.assets;
  if (!assets) return;

  app.get('/asset-manager', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const text = (name: string): string => (typeof query[name] === 'string' ? (query[name] as string).slice(0, 1000) : '');
    const all = (await sources.list()).records;
    const sourceId = all.some((source) => source.id === text('source')) ? text('source') : defaultSourceId;
    const filters: AssetsFilters = {
      sourceId,
      kind: text('kind'),
      folder: text('folder').trim(),
      sort: SORT_OPTIONS.some((option) => option.value === text('sort')) ? text('sort') : SORT_OPTIONS[0]!.value,
    };
    let rows: AssetRecord[] = [];
    let next: string | null = null;
    let error: string | undefined;
    let status = 200;
    try {
      const folder = filters.folder === '' ? undefined : `${filters.folder.startsWith('/') ? '' : '/'}${filters.folder.replace(/\/*$/, '/')}`;
      const apiQuery: Record<string, string> = { sort: filters.sort, 'page[size]': String(ASSETS_PAGE_SIZE) };
      if (filters.kind) apiQuery['filter[media_kind]'] = filters.kind;
      if (folder) apiQuery['filter[origin_path]'] = folder;
      if (text('cursor')) apiQuery['page[cursor]'] = text('cursor');
      const { listing } = parseAssetQuery(apiQuery);
      rows = await assets.list({ ...listing, sourceId, limit: listing.limit + 1 });
      if (rows.length > listing.limit) {
        rows = rows.slice(0, listing.limit);
        next = encodeCursor(rows.at(-1)!, listing.sort);
      }
    } catch (caught) {
      if (!isPictorError(caught) || caught.status >= 500) throw caught;
      error = caught.message;
      status = 400;
    }
    return sendPage(context, request, reply, {
      title: 'Assets',
      current: 'assets',
      status,
      notice: context.flash.take(sessionOf(request)).notice,
      body: assetsView({ csrfToken: sessionOf(request).csrfToken, sources: all, filters, assets: rows, next, paged: text('cursor') !== '', error }),
    });
  });

  app.post('/asset-manager/refresh', async (request, reply) => {
    const form = formOf(request);
    const sourceId = form.get('source') ?? '';
    const back = form.get('back') ?? '';
    // Only back to this page: a form field never sends the browser elsewhere.
    const location = /^\/dashboard\/asset-manager\?[\w%&=.~+-]*$/.test(back) ? back : `/dashboard/asset-manager?source=${encodeURIComponent(sourceId)}`;
    let notice: string;
    try {
      const path = pathFromUrl((form.get('path') ?? '').replace(/^\//, ''));
      await assets.refresh(sourceId, path, actor(request));
      notice = `Refreshed ${path}: the origin was asked again and every cached output of it was purged.`;
    } catch (error) {
      if (!isPictorError(error) || error.status >= 500) throw error;
      notice = `Not refreshed: ${error.message}`;
    }
    context.flash.set(sessionOf(request), { notice });
    return redirect(reply, location);
  });
}
