import type { FastifyInstance } from 'fastify';
import { sendPage, type DashboardContext } from '../context.ts';
import { clusterView } from '../views/cluster.ts';

/** Cluster: what `GET /api/v1/status` says, as a page; read-only, so no form and no CSRF token. */
export function clusterRoutes(app: FastifyInstance, context: DashboardContext): void {
  app.get('/cluster', async (request, reply) =>
    sendPage(context, request, reply, { title: 'Cluster', current: 'cluster', body: clusterView(await context.services.clusterStatus()) }),
  );
}
