import type { NodesPhase } from '../purge/coordinator.ts';
import type { PurgeLedger } from '../purge/ledger.ts';
import type { NodeStates } from '../store/node-states.ts';
import { ClusterNode, type ClusterNodeOptions } from './cluster-node.ts';
import { NodeProgress } from './node-progress.ts';

export const STARTING = 'this node is starting and replaying the purge log';

/** This node among the nodes that apply the purge log. */
export interface Membership {
  /** The nodes step of the purges this node coordinates. */
  readonly nodes: NodesPhase;
  /** Takes its place as `id` (having applied the whole log); resolves when this node may serve. */
  join(id: string): Promise<void>;
  /** Records where this node serves, once its listeners are open. */
  announce(urls: { render: string; admin: string }): Promise<void>;
  /** Why this node must not serve now (503), or undefined when it may. */
  unavailableReason(): string | undefined;
  stop(): Promise<void>;
}

/** A member of a cluster when other nodes share the purge log (cluster-node.ts), else the log's only node. */
export function nodeMembership(nodes: NodeStates, ledger: PurgeLedger, options: ClusterNodeOptions): Membership {
  return ledger.shared ? new ClusterNode(nodes, ledger, options) : new SoleNode(nodes, ledger);
}

/**
 * The only node of its log (one data directory): it appends every purge itself and applies each as it is
 * appended (PurgeLedger.append), in log order, so it acknowledges each as it is applied and is never behind.
 * No other node can complete a purge without it, so it holds no lease.
 */
class SoleNode implements Membership {
  readonly nodes: NodeProgress;
  private id: string | undefined;
  private readonly ackListeners = new Set<() => void>();

  constructor(
    private readonly states: NodeStates,
    private readonly ledger: PurgeLedger,
  ) {
    this.nodes = new NodeProgress(states, this);
    ledger.onLogged((purge) => void this.ack(purge.seq));
  }

  async join(id: string): Promise<void> {
    await this.states.register(id);
    this.id = id;
    await this.ack(this.ledger.current());
  }

  announce(urls: { render: string; admin: string }): Promise<void> {
    return this.id === undefined ? Promise.resolve() : this.states.announce(this.id, urls);
  }

  unavailableReason(): string | undefined {
    return this.id === undefined ? STARTING : undefined;
  }

  onAck(listener: () => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.nodes.close();
  }

  private async ack(seq: number): Promise<void> {
    if (this.id === undefined) return;
    await this.states.ack(this.id, seq);
    for (const listener of this.ackListeners) listener();
  }
}
