import { edgeState, nodeState, type ClusterStatus } from '../../cluster/cluster-status.ts';
import { html, type SafeHtml } from '../html.ts';

const th = (label: string): SafeHtml => html`<th scope="col" role="columnheader">${label}</th>`;
/** A cell labelled for the stacked layout of narrow screens. */
const td = (label: string, value: string | number | SafeHtml): SafeHtml =>
  html`<td role="cell" data-label="${label}">${typeof value === 'number' ? String(value) : value}</td>`;
const time = (iso: string | null): SafeHtml =>
  iso === null ? html`—` : html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
const lease = (iso: string | null): SafeHtml => (iso === null ? html`never runs out` : time(iso));

/** Cluster: the nodes and their place in the purge log, the edges and their rotation, the log's depth (read-only). */
export function clusterView(status: ClusterStatus): SafeHtml {
  const log = status.purge_log;
  return html`<section class="card" aria-labelledby="nodes-title">
  <h2 id="nodes-title">Nodes</h2>
  <p class="muted">A node serves while its lease holds and it has applied every purge; a node whose lease ran out before it applied one
    is fenced until it catches up. Lag is the number of purges logged that it has not applied yet.</p>
  ${
    status.nodes.length === 0
      ? html`<p class="muted">No node has registered.</p>`
      : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="nodes-title">
  <table class="nodes stack" role="table">
    <thead role="rowgroup"><tr role="row">${th('Node')}${th('Lease until')}${th('Last applied')}${th('Lag')}${th('State')}</tr></thead>
    <tbody role="rowgroup">
    ${status.nodes.map(
      (node) => html`<tr role="row" data-node-id="${node.id}">${td('Node', node.id)}${td('Lease until', lease(node.lease_until))}
        ${td('Last applied', node.last_applied)}${td('Lag', node.lag)}${td('State', nodeState(node))}</tr>`,
    )}
    </tbody>
  </table></div>`
  }
</section>
<section class="card" aria-labelledby="edges-title">
  <h2 id="edges-title">Edges</h2>
  ${
    status.edges.length === 0
      ? html`<p class="muted">No edge is registered.</p>`
      : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="edges-title">
  <table class="edges stack" role="table">
    <thead role="rowgroup"><tr role="row">${th('Edge')}${th('URL')}${th('State')}${th('Since')}${th('Last purge')}${th('Last error')}</tr></thead>
    <tbody role="rowgroup">
    ${status.edges.map(
      (edge) => html`<tr role="row" data-edge="${edge.name}">${td('Edge', edge.name)}${td('URL', html`<code>${edge.url}</code>`)}
        ${td('State', edge.in_rotation ? edgeState(edge) : `out of rotation: ${edge.reason ?? 'no reason given'}`)}
        ${td('Since', time(edge.since))}${td('Last purge', time(edge.last_purge_at))}${td('Last error', edge.last_error ?? '—')}</tr>`,
    )}
    </tbody>
  </table></div>`
  }
</section>
<section class="card" aria-labelledby="log-title">
  <h2 id="log-title">Purge log</h2>
  <p>Head: <strong data-log-head>${String(log.head)}</strong>. Pending purges: <strong data-pending>${String(log.pending)}</strong>${
    log.oldest_pending_at === null
      ? html`.`
      : html`, the oldest accepted ${time(log.oldest_pending_at)} (${String(log.oldest_pending_age_seconds)} s ago).`
  }</p>
</section>`;
}
