import type { FastifyInstance } from 'fastify';
import type { PurgeRecord } from '../../store/purge-log.ts';
import { sendPage, type DashboardContext } from '../context.ts';
import { summarizePurge } from '../views/purge-status.ts';
import { purgesView } from '../views/purges.ts';

export const PURGES_PAGE_SIZE = 25;
const STATUSES = new Set(['pending', 'completed', 'failed']);

export function purgesRoutes(app: FastifyInstance, context: DashboardContext): void {
  const { purges, sources } = context.services;
  const sourceName = async (id: string): Promise<string | undefined> => (await sources.get(id))?.name;

  app.get('/purges', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const status = typeof query.status === 'string' && STATUSES.has(query.status) ? (query.status as PurgeRecord['status']) : undefined;
    const text = typeof query.q === 'string' ? query.q.trim().slice(0, 500) : '';
    const requested = typeof query.page === 'string' && /^\d{1,6}$/.test(query.page) ? Math.max(1, Number(query.page)) : 1;
    let page = requested;
    let result = await purges.list({ status, urlContains: text, limit: PURGES_PAGE_SIZE, offset: (page - 1) * PURGES_PAGE_SIZE });
    const lastPage = Math.max(1, Math.ceil(result.total / PURGES_PAGE_SIZE));
    if (page > lastPage) {
      page = lastPage;
      result = await purges.list({ status, urlContains: text, limit: PURGES_PAGE_SIZE, offset: (page - 1) * PURGES_PAGE_SIZE });
    }
    const rows = await Promise.all(
      result.records.map(async (record) => ({ record, summary: summarizePurge(record, await sourceName(record.sourceId)) })),
    );
    return sendPage(context, request, reply, {
      title: 'Purges',
      current: 'purges',
      body: purgesView({ rows, status: status ?? '', text, page, pageSize: PURGES_PAGE_SIZE, total: result.total }),
    });
  });

  /** The page script polls this while a purge is pending (session auth, like every dashboard page). */
  app.get<{ Params: { id: string } }>('/purges/:id/status', async (request, reply) => {
    const record = await purges.get(request.params.id);
    if (!record) return reply.status(404).send({ error: `No purge has the id "${request.params.id}".` });
    return reply.send(summarizePurge(record, await sourceName(record.sourceId), await purges.edgeStates(record.id)));
  });
}
