import type { LoggedPurge } from '../store/purge-log.ts';
import type { EdgeOrder } from './edge-driver.ts';
import { edgeKeysForPurge } from './edge-keys.ts';

/**
 * What a purge asks of one edge (edge-driver.ts): the edge keys of its scopes, and each scope as the public
 * URL space it covers on every host of its Source. A sub-image purge covers every image of the parent Source
 * that may draw it, so an edge purging by URL is asked for the whole parent Source.
 */
export function edgeOrder(purge: LoggedPurge, edge: string, hostsOf: (sourceId: string) => string[]): EdgeOrder {
  const urls: EdgeOrder['urls'] = [];
  if (purge.subImage && purge.parentSourceId !== undefined) {
    for (const host of hostsOf(purge.parentSourceId)) urls.push({ host, path: '/', prefix: true });
  } else {
    for (const scope of purge.scopes) urls.push(...scopeUrls(scope, hostsOf));
  }
  return { id: `${purge.id}:${edge}`, keys: purge.scopes.flatMap(edgeKeysForPurge), urls };
}

/** `A:<source>:<path>` → that path; `P:<source>:<folder/>` → the folder as a prefix; `S:<source>` → `/` as a prefix. */
function scopeUrls(scope: string, hostsOf: (sourceId: string) => string[]): EdgeOrder['urls'] {
  const [kind, sourceId = '', ...rest] = scope.split(':');
  const path = rest.join(':');
  const target = kind === 'S' ? { path: '/', prefix: true } : { path, prefix: kind === 'P' };
  return hostsOf(sourceId).map((host) => ({ host, ...target }));
}
