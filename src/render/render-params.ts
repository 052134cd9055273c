/**
 * The normalised, render-affecting parameters. Keys are imgix's canonical names so that the cache key
 * (`canonical`) is simply these entries serialised: the renderer can only depend on what is in the key.
 */
import type { Rgba } from './colors.ts';

export type Fit = 'clamp' | 'clip' | 'crop' | 'fill' | 'fillmax' | 'max' | 'min' | 'scale';
/** After normalisation `crop` is either one strategy or up to two directions (vertical first). */
export type CropMode = 'top' | 'bottom' | 'left' | 'right' | 'entropy' | 'edges' | 'focalpoint';
export type OutputFormatParam = 'jpg' | 'pjpg' | 'png' | 'png8' | 'png32' | 'webp' | 'avif' | 'gif' | 'json' | 'blurhash';
export type AutoFlag = 'compress' | 'format';
export type RectX = number | 'left' | 'center' | 'right';
export type RectY = number | 'top' | 'middle' | 'bottom';
/** x, y: pixels, keyword or fraction (0 < v < 1, or a decimal); w, h: integer pixels ≥ 1 or a fraction < 1. */
export type RectValue = readonly [x: RectX, y: RectY, w: number, h: number];

export interface RenderParams {
  /** Pixels (an integer ≥ 2) or a fraction of the source (0 < w ≤ 1). Same for `h`. */
  w?: number;
  h?: number;
  /** Absent means imgix's default `clip`. Only present when it changes the result. */
  fit?: Fit;
  crop?: CropMode[];
  /** Width / height, e.g. 16:9 → 1.777… */
  ar?: number;
  rect?: RectValue;
  dpr?: number;
  'max-w'?: number;
  'max-h'?: number;
  'min-w'?: number;
  'min-h'?: number;
  'fp-x'?: number;
  'fp-y'?: number;
  'fp-z'?: number;
  fm?: OutputFormatParam;
  q?: number;
  lossless?: true;
  auto?: AutoFlag[];
  bg?: Rgba;
  fill?: 'blur';
  'fill-color'?: Rgba;
  /** Equal padding on all sides; unequal padding is stored as the four `pad-*` values instead. */
  pad?: number;
  'pad-top'?: number;
  'pad-right'?: number;
  'pad-bottom'?: number;
  'pad-left'?: number;
  /** Degrees in (0, 360). */
  rot?: number;
  'rot-type'?: 'pivot';
  flip?: 'h' | 'v' | 'hv';
  /** EXIF orientation 1–8 that replaces the file's own (0 → 1, 90 → 6, 180 → 3, 270 → 8). */
  orient?: number;
  blur?: number;
  sharp?: number;
  bri?: number;
  con?: number;
  sat?: number;
  hue?: number;
  gam?: number;
  exp?: number;
  invert?: true;
  monochrome?: Rgba;
  sepia?: number;
  px?: number;
  trim?: 'auto' | 'color';
  'trim-color'?: Rgba;
  'trim-tol'?: number;
}

export interface Padding {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export function paddingOf(params: RenderParams): Padding {
  const all = params.pad ?? 0;
  return {
    top: params['pad-top'] ?? all,
    right: params['pad-right'] ?? all,
    bottom: params['pad-bottom'] ?? all,
    left: params['pad-left'] ?? all,
  };
}

export function hasAuto(params: RenderParams, flag: AutoFlag): boolean {
  return params.auto?.includes(flag) ?? false;
}
