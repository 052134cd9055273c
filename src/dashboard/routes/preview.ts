import type { FastifyInstance } from 'fastify';
import { routingHosts } from '../../sources/domains.ts';
import { sendPage, type DashboardContext } from '../context.ts';
import {
  directRenderOrigin,
  isSafeTarget,
  PREVIEW_PARAMS,
  previewTarget,
  probeRender,
  publicBase,
  requestRender,
  type PreviewInput,
  type PreviewParam,
} from '../preview-url.ts';
import { previewView, type PreviewView } from '../views/preview.ts';

export function previewRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { sources, defaultSourceId, baseDomain, publicUrl } = context.services;
  /** The Host the render listener routes to the Source: its first domain (the default Source also catches any other host). */
  const routingHost = async (id: string): Promise<string | undefined> => {
    const record = await sources.get(id);
    return record && (routingHosts(record.deployment, baseDomain)[0] ?? (id === defaultSourceId ? 'localhost' : undefined));
  };

  app.get('/preview', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const text = (name: string): string => (typeof query[name] === 'string' ? (query[name] as string) : '');
    const params: Partial<Record<PreviewParam, string>> = {};
    for (const name of PREVIEW_PARAMS) params[name] = text(name);
    const input: PreviewInput = { path: text('path'), params, query: text('query') };
    const all = (await sources.list()).records;
    const sourceId = text('source') || defaultSourceId;
    const view: PreviewView = { sources: all, sourceId, input, errors: {} };
    const record = await sources.get(sourceId);
    let status = 200;
    if (!record) {
      view.errors.source = `No Source has the id "${sourceId}".`;
      status = 404;
    } else if (input.path !== '') {
      const built = previewTarget(record, input);
      if ('error' in built) {
        view.errors[built.field] = built.error;
        status = 400;
      } else {
        const renderUrl = context.services.renderUrl();
        const host = await routingHost(record.id);
        // The default Source is shown as this browser reaches the render listener (or at --public-url).
        const direct = record.id === defaultSourceId ? directRenderOrigin(publicUrl, renderUrl, request.hostname) : undefined;
        const base = direct ?? publicBase(record, { baseDomain, publicUrl, renderUrl });
        const imageSrc = direct
          ? `${direct}${built.target}`
          : `/dashboard/preview/image?${new URLSearchParams({ source: record.id, target: built.target }).toString()}`;
        const result: NonNullable<PreviewView['result']> = {
          publicUrl: base === undefined ? undefined : `${base}${built.target}`,
          imageSrc,
          signed: built.signed,
          probe: undefined,
          probeError: undefined,
        };
        if (renderUrl === undefined || host === undefined) result.probeError = 'the render listener is not listening yet, or the Source has no domain.';
        else {
          try {
            result.probe = await probeRender(renderUrl, host, built.target, request.headers.accept?.includes('image/') ? request.headers.accept : 'image/avif,image/webp,image/*,*/*;q=0.8');
          } catch (error) {
            result.probeError = (error as Error).message;
          }
        }
        view.result = result;
      }
    }
    return sendPage(context, request, reply, { title: 'Preview', current: 'preview', status, body: previewView(view) });
  });

  /** The image of a Source that the browser cannot reach by its domain: fetched from the render listener with that Host. */
  app.get('/preview/image', async (request, reply) => {
    const { source, target } = request.query as Record<string, string | undefined>;
    const host = typeof source === 'string' ? await routingHost(source) : undefined;
    const renderUrl = context.services.renderUrl();
    if (host === undefined || typeof target !== 'string' || !isSafeTarget(target) || renderUrl === undefined) {
      return reply.status(400).type('text/plain; charset=utf-8').send('Bad preview request.');
    }
    const response = await requestRender(renderUrl, host, target, request.headers.accept ? { accept: request.headers.accept } : {});
    // Served from the dashboard's origin: only images and plain-text errors, each in a sandbox of its own. The
    // render listener serves no pages or scripts (delivery-service.ts), but passes videos, audio and PDFs
    // through, and this origin is the dashboard's: it relays none of them.
    reply.header('content-security-policy', "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox");
    reply.header('cache-control', 'private, no-store');
    const type = response.headers['content-type'] ?? '';
    if (!/^image\/|^text\/plain/i.test(type)) {
      response.destroy();
      return reply.status(502).type('text/plain; charset=utf-8').send(`The render listener answered with ${type || 'no content type'}, not an image.`);
    }
    reply.status(response.statusCode ?? 502).type(type);
    for (const name of ['content-length', 'etag']) {
      const value = response.headers[name];
      if (typeof value === 'string') reply.header(name, value);
    }
    return reply.send(response);
  });
}
