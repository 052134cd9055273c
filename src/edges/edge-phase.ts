import type { EdgesPhase } from '../purge/coordinator.ts';
import { edgeKeysForPurge } from './edge-keys.ts';
import type { PurgeReport } from '../store/purge-log.ts';

export interface Edge {
  name: string;
  url: string;
  inRotation: boolean;
}

/** The edges registry, as the edge phase needs it (edge-service.ts). */
export interface EdgeDirectory {
  list(): Promise<Edge[]>;
  /** Takes an edge out of rotation; it comes back only after a full flush (`pictor edges readmit`). */
  takeOut(name: string, reason: string): Promise<unknown>;
}

/** Sends PURGE requests to edges (edge-purger.ts). */
export interface EdgeSender {
  purge(edges: readonly { name: string; url: string }[], keys: readonly string[]): Promise<{ purged: string[]; failed: { name: string; reason: string }[] }>;
}

/** How long after a purge its keys are sent to the edges a second time (see `EdgePhase`). */
const SECOND_PURGE_MS = 1000;

/**
 * The last step of a purge (purge/coordinator.ts): every in-rotation edge drops what carries the purged
 * scopes' keys (edge-keys.ts). An edge that does not confirm in time is taken out of rotation and named in the
 * report: it may still hold the old bytes, so whatever routes clients must stop sending them there, and it is
 * re-admitted only after a flush.
 *
 * A response whose bytes were already on their way from a node when the purge was applied (built before
 * it, sent after the node's check) could still land in an edge just after its PURGE; a second PURGE a moment
 * later removes it. It does not hold the purge's completion back, and its failure is only logged.
 */
export class EdgePhase implements EdgesPhase {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly directory: EdgeDirectory,
    private readonly sender: EdgeSender,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  propagate(scopes: readonly string[]): Promise<PurgeReport['edges']> {
    return this.purgeKeys(scopes.flatMap(edgeKeysForPurge));
  }

  /** The same for edge keys named directly (a takedown's content keys, edge-keys.ts). */
  async purgeKeys(keys: readonly string[]): Promise<PurgeReport['edges']> {
    const edges = await this.directory.list();
    if (edges.length === 0 || keys.length === 0) return { purged: [], out_of_rotation: [] };
    const targets = edges.filter((edge) => edge.inRotation);
    const { purged, failed } = await this.sender.purge(targets, keys);
    for (const { name, reason } of failed) await this.directory.takeOut(name, reason);
    this.again(keys);
    const out = edges.filter((edge) => !edge.inRotation).map((edge) => edge.name);
    return { purged, out_of_rotation: [...out, ...failed.map((edge) => edge.name)].sort() };
  }

  /** Cancels the pending second purges (at stop). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private again(keys: readonly string[]): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.directory
        .list()
        .then((edges) => this.sender.purge(edges.filter((edge) => edge.inRotation), keys))
        .catch(this.onError);
    }, SECOND_PURGE_MS);
    timer.unref();
    this.timers.add(timer);
  }
}
