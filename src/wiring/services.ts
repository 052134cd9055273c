import { AssetService } from '../assets/asset-service.ts';
import { contentEdgeKeys } from '../edges/edge-keys.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import { contentIds } from '../sources/origin.ts';
import { OutboundPreflight } from '../sources/outbound-guard.ts';
import { SourceService } from '../sources/source-service.ts';
import type { Stores } from '../store/stores.ts';
import { TakedownGate } from '../takedown/takedown-gate.ts';
import { Takedowns } from '../takedown/takedowns.ts';
import { assetRefreshedEvents, assetRemovedEvents, takedownCreatedEvents, takedownLiftedEvents } from '../webhooks/events.ts';
import type { Caches } from './caches.ts';
import type { NodeContext } from './node.ts';
import type { NodePurges } from './purges.ts';
import type { NodeVideo } from './video.ts';

/** How long an asset refresh waits for its purge to complete (a cluster's purge may wait out a node's lease). */
const ASSET_REFRESH_WAIT_MS = 30_000;

export interface Services {
  takedowns: Takedowns;
  sources: SourceService;
  assets: AssetService;
}

/** The 451 gate: takedowns loaded before anything is served, and followed as other nodes or processes change them. */
export async function openTakedownGate(node: NodeContext, stores: Stores): Promise<TakedownGate> {
  const gate = new TakedownGate(stores.takedowns, node.options.publicUrl);
  await gate.open((error) => node.logger.warn({ err: error }, 'takedowns changed elsewhere could not be read; keeping the ones in memory'));
  node.onStop('parts', () => gate.close());
  return gate;
}

export interface ServiceParts {
  stores: Stores;
  sources: SourceRegistry;
  caches: Caches;
  purging: NodePurges;
  gate: TakedownGate;
  video: NodeVideo;
}

/** What the admin listener and the dashboard serve: takedowns, the Sources API, the Asset Manager, connected. */
export function startServices(node: NodeContext, parts: ServiceParts): Services {
  const { options, logger } = node;
  const { stores, sources, purging, video } = parts;
  const { purges, edgePhase } = purging;
  const takedowns = new Takedowns(stores.takedowns, sources, purges, parts.gate, (error, during) => logger.warn({ err: error }, `takedown: failed ${during}`), {
    created: takedownCreatedEvents,
    lifted: takedownLiftedEvents,
  });
  const sourceService = new SourceService(stores.sources, {
    baseDomain: options.baseDomain,
    folderRoots: options.folderRoots,
    outbound: new OutboundPreflight(options.outboundAllow),
    onChanged: (record) => sources.changed(record),
    // PATCH with `purge_derivatives: true`: a rendering change applies to what is already cached too.
    onRenderingChanged: async (sourceId) => void (await purges.purgeSource(sourceId, 'sources API (purge_derivatives)')),
  });
  const assets = new AssetService(stores.assets, sources, parts.caches.originCache, purges, {
    purgeWaitMs: ASSET_REFRESH_WAIT_MS,
    purgePollMs: 20,
    outbox: { refreshed: assetRefreshedEvents, removed: assetRemovedEvents },
  });
  video.showStatesIn(assets);
  // A refresh reaches the Video API too: new bytes are encoded again (and the old outputs never served
  // again), the same bytes are not, and a video gone at the origin loses every output.
  assets.onRefresh(async (sourceId, path) => void (await video.video.service.refresh(sourceId, path)));
  // A takedown removes its content from the edges, under every URL it was cached at (its own URL's purge
  // does not reach the others, nor Video API outputs), and deletes every Video API output of the asset (the
  // 451 gate already blocks them).
  takedowns.onTakedown.push(({ originObject, sha256 }) => edgePhase.purgeKeys(contentEdgeKeys(contentIds(originObject, sha256))));
  takedowns.onTakedown.push(async ({ sourceId, path }) => void (await video.video.service.remove(sourceId, path)));
  return { takedowns, sources: sourceService, assets };
}
