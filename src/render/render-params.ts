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
export type VerticalAlign = 'top' | 'middle' | 'bottom';
export type HorizontalAlign = 'left' | 'center' | 'right';
/** Always both axes, vertical first (normalised from imgix's free-order list, missing axes filled with the default). */
export type Align = readonly [vertical: VerticalAlign, horizontal: HorizontalAlign];
export type MarkFit = 'clip' | 'crop' | 'fill' | 'max' | 'scale';
export type BlendFit = 'clamp' | 'clip' | 'crop' | 'max' | 'scale';
/** imgix's blend modes (the manifest's `blend-mode` values). */
export type BlendMode =
  | 'normal' | 'multiply' | 'screen' | 'overlay' | 'darken' | 'lighten' | 'dodge' | 'burn' | 'hardlight'
  | 'softlight' | 'difference' | 'exclusion' | 'hue' | 'saturation' | 'color' | 'luminosity';

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

  // Watermark (imgix `mark*`). Present only with `mark`; defaults (mark-pad 5, mark-alpha 100, fit clip,
  // align bottom,right — top,left when tiled) are dropped. See sub-images.ts for the exact rules.
  /** The watermark reference (URL or path) exactly as given, after Base64 decoding. */
  mark?: string;
  /** Base URL the delivery layer prefixes to `mark` (kept verbatim; `subImageRefs()` joins the two). */
  'mark-base'?: string;
  /** Pixels (integer ≥ 2) or a fraction (0 < v ≤ 1) of the base image's width / height. */
  'mark-w'?: number;
  'mark-h'?: number;
  /** Only with mark-w or mark-h, and only when it differs from clip for the sizes given. */
  'mark-fit'?: Exclude<MarkFit, 'clip'>;
  /** Percent (1–100) of the base image's width; takes precedence over mark-w/mark-h. */
  'mark-scale'?: number;
  'mark-align'?: Align;
  /** Pixels from the aligned edges (default 5). */
  'mark-pad'?: number;
  /** Pixels from the left / top edge; each overrides mark-align and mark-pad on its axis. */
  'mark-x'?: number;
  'mark-y'?: number;
  /** 1–99 (100, the default, is dropped). */
  'mark-alpha'?: number;
  /** Degrees counter-clockwise in (0, 360). */
  'mark-rot'?: number;
  'mark-tile'?: 'grid';
  /** Draw the mark only when the base image is at least this wide / tall (pixels). */
  'mark-if-min-width'?: number;
  'mark-if-min-height'?: number;

  // Blend (imgix `blend*`). An image blend is `blend`; a colour blend is `blend-color` (`blend=<colour>`
  // is folded into it), so `blend` is always a reference the delivery layer fetches.
  /** The blend image reference (URL or path) exactly as given, after Base64 decoding. */
  blend?: string;
  /** A colour over the whole image (ARGB alpha already applied); ignored when `blend` is an image. */
  'blend-color'?: Rgba;
  /** Absent means imgix's default `overlay`. */
  'blend-mode'?: Exclude<BlendMode, 'overlay'>;
  /** 1–99 (100 is the default; 0 removes the blend entirely). */
  'blend-alpha'?: number;
  // The rest only apply to image blends.
  'blend-w'?: number;
  'blend-h'?: number;
  'blend-fit'?: Exclude<BlendFit, 'clip'>;
  /** Crop gravity for blend-fit=crop / blend-size=inherit (faces falls through: no face detector). */
  'blend-crop'?: ('top' | 'bottom' | 'left' | 'right')[];
  /** Stretch/crop the blend image to the base image's size (replaces blend-w/h/fit and placement). */
  'blend-size'?: 'inherit';
  /** Default centre,middle. */
  'blend-align'?: Align;
  'blend-pad'?: number;
  'blend-x'?: number;
  'blend-y'?: number;

  // Palette (imgix `palette`, `colors`, `prefix`): a CSS or JSON palette of the rendered image instead of
  // the image. Defaults (6 colours, prefix `image`) are dropped; `prefix` only with palette=css.
  palette?: 'css' | 'json';
  /** 0–16 colours in the `colors` set. */
  colors?: number;
  /** A CSS class name (checked in palette-params.ts). */
  prefix?: string;
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
