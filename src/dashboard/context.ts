import type { WebhookService } from '../webhooks/webhook-service.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { AssetService } from '../assets/asset-service.ts';
import type { ClusterStatus } from '../cluster/cluster-status.ts';
import type { EdgeService } from '../edges/edge-service.ts';
import type { Purges } from '../purge/purges.ts';
import type { SourceService } from '../sources/source-service.ts';
import type { Takedowns } from '../takedown/takedowns.ts';
import type { AdminAccounts } from './accounts.ts';
import type { TrustedDevices } from './devices.ts';
import type { HtmlValue } from './html.ts';
import type { Session, Sessions } from './session.ts';
import type { SignInLimiter } from './sign-in-limiter.ts';
import { page, type AssetUrls, type NavItem } from './views/layout.ts';

declare module 'fastify' {
  interface FastifyRequest {
    dashboardSession?: Session;
  }
}

/** What the dashboard works with: the same services as the JSON:API and the CLI, plus its accounts and sessions. */
export interface DashboardServices {
  keys: ApiKeys;
  purges: Purges;
  /** The edges registry (the Edges page). */
  edges: EdgeService;
  takedowns: Takedowns;
  sources: SourceService;
  /** The Asset Manager (the Assets page); absent: no Assets page. */
  assets?: AssetService | undefined;
  accounts: AdminAccounts;
  sessions: Sessions;
  defaultSourceId: string;
  baseDomain: string | undefined;
  publicUrl: URL | undefined;
  /** The render listener's URL once it listens (the preview loads images from it). */
  renderUrl: () => string | undefined;
  webhooks: WebhookService;
  /** The cluster's nodes, edges and purge log (the Cluster page). */
  clusterStatus: () => Promise<ClusterStatus>;
  /** Browsers that signed in before, which sign-in limits by their own failures only. */
  devices: TrustedDevices;
  /** Backoff on failed sign-ins, per address, account and trusted device. */
  signInLimiter: SignInLimiter;
}

/** One-time messages carried from a POST to the page it redirects to (kept in memory, per session). */
export interface Flash {
  notice?: string;
  /** A caution about what was just done (a Source saved whose origin the outbound guard refuses). */
  warning?: string | undefined;
  /** A key just created: shown once, never stored. */
  newKey?: { id: string; name: string; key: string };
}

export class FlashStore {
  private readonly entries = new Map<string, Flash>();

  set(session: Session, flash: Flash): void {
    this.entries.set(session.idHash, flash);
  }

  take(session: Session): Flash {
    const flash = this.entries.get(session.idHash) ?? {};
    this.entries.delete(session.idHash);
    return flash;
  }
}

export interface DashboardContext {
  services: DashboardServices;
  assets: AssetUrls;
  flash: FlashStore;
}

export interface RenderOptions {
  title: string;
  current?: NavItem;
  notice?: string | undefined;
  warning?: string | undefined;
  body: HtmlValue;
  status?: number;
}

/** Sends a whole page (layout around `body`) for the signed-in user, or the public layout before sign-in. */
export function sendPage(context: DashboardContext, request: FastifyRequest, reply: FastifyReply, options: RenderOptions): FastifyReply {
  const markup = page({ ...options, assets: context.assets, session: request.dashboardSession });
  return reply
    .status(options.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(markup.value);
}

/** The signed-in user's session (routes behind the sign-in hook only). */
export function sessionOf(request: FastifyRequest): Session {
  const session = request.dashboardSession;
  if (!session) throw new Error('no dashboard session on a route that needs one');
  return session;
}

/** Who a dashboard action is recorded as (`requestedBy` of purges): `user:admin`. */
export function actor(request: FastifyRequest): string {
  return `user:${sessionOf(request).username}`;
}

/** The submitted form (the dashboard parses `application/x-www-form-urlencoded` itself). */
export function formOf(request: FastifyRequest): URLSearchParams {
  return request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
}

export function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.status(303).header('location', location).header('cache-control', 'no-store').send();
}
