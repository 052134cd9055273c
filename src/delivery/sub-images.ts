import { assetRef, type AssetRef } from '../cache/freshness.ts';
import { PictorError } from '../errors.ts';
import { parseParams, type RenderParams } from '../render/params.ts';
import { hasSubImages, subImageRefs } from '../render/sub-image-params.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import { requireSignature } from './signature.ts';

/** A `mark`, `blend` or `mask` image, resolved to the Source and asset it comes from. */
export interface SubImage {
  layer: 'mark' | 'blend' | 'mask';
  source: ResolvedSource;
  path: string;
  ref: AssetRef;
  /** The sub-image's own rendering parameters (one level: they never have sub-images themselves). */
  params: RenderParams;
  hasOwnParams: boolean;
}

/**
 * Resolves the sub-images a render needs, without any I/O. Security invariant: a sub-image is always read
 * through a Source — a path on the parent's Source, or an absolute URL whose host is a domain of one of
 * Pictor's Sources (so no DNS lookup and no arbitrary fetch) — and a Source that requires signed URLs
 * requires them for its sub-images too, so a mark cannot expose what a direct request could not.
 */
export function resolveSubImages(params: RenderParams, parent: { source: ResolvedSource; path: string }, sources: SourceRegistry): SubImage[] {
  const refs = subImageRefs(params);
  const layers: SubImage[] = [];
  for (const layer of ['blend', 'mark', 'mask'] as const) {
    const reference = refs[layer];
    if (reference !== undefined) layers.push(resolveOne(layer, reference, parent, sources));
  }
  return layers;
}

function resolveOne(layer: SubImage['layer'], reference: string, parent: { source: ResolvedSource; path: string }, sources: SourceRegistry): SubImage {
  let source = parent.source;
  let rawPath: string;
  let rawQuery: string;
  if (/^https?:\/\//i.test(reference)) {
    let url: URL;
    try {
      url = new URL(reference);
    } catch {
      throw invalid(layer, `"${reference}" is not a valid URL`);
    }
    const owner = sources.forDomain(url.host);
    if (!owner) throw invalid(layer, `the host "${url.host}" is not a domain of any Source; sub-images must come from a Source`);
    source = owner;
    rawPath = url.pathname;
    rawQuery = url.search.slice(1);
  } else {
    const queryStart = reference.indexOf('?');
    const pathPart = queryStart === -1 ? reference : reference.slice(0, queryStart);
    rawPath = pathPart.startsWith('/') ? pathPart : `/${pathPart}`;
    rawQuery = queryStart === -1 ? '' : reference.slice(queryStart + 1);
  }
  requireSignature(source, { rawPath, rawQuery });
  const path = canonicalPath(rawPath);
  if (source.record.id === parent.source.record.id && path === parent.path) throw invalid(layer, 'an image cannot be its own sub-image');
  const { params } = parseParams(rawQuery);
  if (hasSubImages(params)) throw invalid(layer, 'a sub-image cannot have a mark, blend or image mask of its own');
  return { layer, source, path, ref: assetRef(source.record.id, path), params, hasOwnParams: Object.keys(params).length > 0 };
}

function invalid(layer: string, message: string): PictorError {
  return new PictorError('INVALID_PARAMETER', `Invalid ${layer}: ${message}.`, { pointer: layer });
}
