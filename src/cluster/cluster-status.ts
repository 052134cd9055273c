import type { EdgePurgeStore } from '../store/edge-purge-store.ts';
import type { EdgeRecord, ReadmittedBy } from '../store/edge-store.ts';
import type { NodeStates } from '../store/node-states.ts';
import type { PurgeLog } from '../store/purge-log.ts';

/** One node as operators see it: how far behind the log it is, and whether it may serve. */
export interface NodeStatus {
  id: string;
  /** ISO time; null for the one node of a data directory, whose lease never runs out. */
  lease_until: string | null;
  lease_expired: boolean;
  last_applied: number;
  /** Purges logged that it has not applied yet: the log's head minus `last_applied`. */
  lag: number;
  fenced: boolean;
}

export interface EdgeStatus {
  name: string;
  /** Where its purges go (Varnish, nginx); null for a CDN purged through its API. */
  url: string | null;
  kind: string;
  in_rotation: boolean;
  /** Why it is out of rotation; null while in. */
  reason: string | null;
  /** ISO time of the last change of rotation. */
  since: string;
  /** ISO time it was last put back in rotation after a flush, and by whom; null until it first was. */
  readmitted_at: string | null;
  readmitted_by: ReadmittedBy | null;
  /** ISO time it last confirmed a purge (among the purges kept); null when none. */
  last_purge_at: string | null;
  /** The last error seen for it: a purge it missed, or a flush that failed since; kept once it is back. */
  last_error: string | null;
}

/** The cluster as `pictor status`, `GET /api/v1/status`, the Cluster page and `/metrics` show it. */
export interface ClusterStatus {
  nodes: NodeStatus[];
  edges: EdgeStatus[];
  purge_log: {
    head: number;
    /** Counted up to PENDING_COUNT_CAP (store/purge-log.ts). */
    pending: number;
    /** ISO time the oldest pending purge was accepted; null when none is pending. */
    oldest_pending_at: string | null;
    oldest_pending_age_seconds: number | null;
  };
}

/** Where the status is read from: the stores themselves, so the CLI reads it without a running server. */
export interface StatusSources {
  nodes: Pick<NodeStates, 'states'>;
  purgeLog: Pick<PurgeLog, 'depth'>;
  /** The edges registry's list (EdgeService.list, or the store's). */
  edges: () => Promise<EdgeRecord[]>;
  edgePurges: Pick<EdgePurgeStore, 'lastPurged'>;
}

/**
 * Reads the cluster's state: four small reads (the nodes, the edges, each edge's last purge, the log's depth),
 * each bounded by the number of nodes and edges or by the store's cap on counting pending purges, so it is
 * cheap enough for every scrape of `/metrics`.
 */
export async function readClusterStatus(sources: StatusSources, now = Date.now()): Promise<ClusterStatus> {
  const [states, edges, depth] = await Promise.all([sources.nodes.states(), sources.edges(), sources.purgeLog.depth()]);
  const lastPurged = await sources.edgePurges.lastPurged(edges.map((edge) => edge.name));
  const iso = (ms: number | null | undefined): string | null => (ms === undefined || ms === null ? null : new Date(ms).toISOString());
  return {
    nodes: states.map((node) => ({
      id: node.id,
      lease_until: iso(node.leaseUntil),
      lease_expired: node.expired,
      last_applied: node.lastApplied,
      lag: Math.max(0, depth.head - node.lastApplied),
      fenced: node.fenced,
    })),
    edges: edges.map((edge) => ({
      name: edge.name,
      url: edge.url,
      kind: edge.kind,
      in_rotation: edge.inRotation,
      reason: edge.inRotation ? null : edge.reason,
      since: new Date(edge.changedAt).toISOString(),
      readmitted_at: iso(edge.readmittedAt),
      readmitted_by: edge.readmittedBy,
      last_purge_at: iso(lastPurged.get(edge.name)),
      last_error: edge.lastError,
    })),
    purge_log: {
      head: depth.head,
      pending: depth.pending,
      oldest_pending_at: iso(depth.oldestPendingAt),
      oldest_pending_age_seconds: depth.oldestPendingAt === undefined ? null : Math.max(0, Math.floor((now - depth.oldestPendingAt) / 1000)),
    },
  };
}

/** The status as plain-text tables, for a terminal. */
export function formatClusterStatus(status: ClusterStatus): string {
  const table = (header: string[], rows: string[][]): string => [header, ...rows].map((row) => row.join('\t')).join('\n');
  const nodes = table(
    ['NODE', 'LEASE UNTIL', 'LAST APPLIED', 'LAG', 'STATE'],
    status.nodes.map((node) => [node.id, node.lease_until ?? '-', String(node.last_applied), String(node.lag), nodeState(node)]),
  );
  const edges = table(
    ['EDGE', 'URL', 'KIND', 'STATE', 'SINCE', 'LAST PURGE', 'LAST ERROR'],
    status.edges.map((edge) => {
      const [lastPurge, lastError] = [edge.last_purge_at ?? '-', edge.last_error ?? '-'];
      return [edge.name, edge.url ?? '-', edge.kind, edgeState(edge), edge.since, lastPurge, lastError];
    }),
  );
  const log = status.purge_log;
  const oldest = log.oldest_pending_at === null ? '' : `, the oldest since ${log.oldest_pending_at} (${log.oldest_pending_age_seconds} s)`;
  return [
    `Nodes (${status.nodes.length})`,
    nodes,
    '',
    `Edges (${status.edges.length})`,
    status.edges.length === 0 ? 'no edges registered' : edges,
    '',
    `Purge log: head ${log.head}, ${log.pending} pending${oldest}`,
    '',
  ].join('\n');
}

/** In or out (with why); an edge whose last change was a re-admission says by whom. */
export function edgeState(edge: EdgeStatus): string {
  if (!edge.in_rotation) return `out: ${edge.reason ?? 'no reason given'}`;
  const back = edge.readmitted_at !== null && edge.readmitted_at === edge.since;
  if (!back) return 'in rotation';
  return edge.readmitted_by === 'automatic' ? 'in rotation (re-admitted after a flush)' : 'in rotation (re-admitted by an operator)';
}

/** One word for a node: fenced (must catch up and rejoin), lease over, lagging, or serving. */
export function nodeState(node: NodeStatus): string {
  if (node.fenced) return 'fenced';
  if (node.lease_expired) return 'lease over';
  return node.lag > 0 ? 'lagging' : 'ok';
}
