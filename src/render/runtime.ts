import sharp from 'sharp';
import { useBundledFonts } from './text/fonts.ts';

/**
 * Process-wide sharp settings. libvips' operation cache keys results by their inputs; every render here
 * starts from a new buffer, so the cache would only hold memory (up to 50 MB by default) without hits.
 * Pictor keeps its own caches of masters, decoded levels and outputs instead.
 *
 * Concurrency is per render: renders themselves run in parallel (`renderConcurrency`), so one thread each
 * keeps every core busy without threads of one image waiting on each other.
 *
 * Text (and text in SVG inputs) uses only the fonts that ship with Pictor: fontconfig must be pointed at
 * them before it first lays out text (text/fonts.ts).
 */
export function configureSharp(threadsPerRender: number): void {
  useBundledFonts();
  sharp.cache(false);
  sharp.concurrency(threadsPerRender);
}
