/**
 * The normalised, render-affecting parameters. Keys are imgix's canonical names so that the cache key
 * (`canonical`) is simply these entries serialised: the renderer can only depend on what is in the key.
 */
import type { Rgba } from './colors.ts';

export type Fit = 'clamp' | 'clip' | 'crop' | 'fill' | 'fillmax' | 'max' | 'min' | 'scale';
/**
 * After normalisation `crop` is either one strategy or up to two directions (vertical first), optionally
 * preceded by `faces` (tried first; the rest applies when no face is found).
 */
export type CropMode = 'top' | 'bottom' | 'left' | 'right' | 'entropy' | 'edges' | 'focalpoint' | 'faces';
/** `fit=facearea`, with the fit used when no face is found (absent: imgix's default, clip). */
export type FaceAreaFit = readonly ['facearea'] | readonly ['facearea', Fit];
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

/** Pixels: one for every corner, or four from the top-left, clockwise. */
export type Radii = number | readonly [topLeft: number, topRight: number, bottomRight: number, bottomLeft: number];
export type GradientColorSpace = 'linear' | 'srgb' | 'oklab' | 'hsl' | 'lch';
/** Where a linear gradient flows to: one side, or vertical then horizontal for a diagonal. */
export type LinearDirection = readonly ['top' | 'bottom' | 'left' | 'right'] | readonly ['top' | 'bottom', 'left' | 'right'];

export interface RenderParams {
  /** Pixels (an integer ≥ 2) or a fraction of the source (0 < w ≤ 1). Same for `h`. */
  w?: number;
  h?: number;
  /** Absent means imgix's default `clip`. Only present when it changes the result. */
  fit?: Fit | FaceAreaFit;
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
  fill?: 'blur' | 'gradient';
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
  trim?: 'auto' | 'color' | 'alpha' | 'colorunlessalpha';
  'trim-color'?: Rgba;
  /** Largest channel difference from trim-color still trimmed (0–255). */
  'trim-tol'?: number;
  /** trim=auto: a border line's largest mean difference from the edge colour, and its largest standard deviation. */
  'trim-md'?: number;
  'trim-sd'?: number;
  /** Pixels of the source kept (positive) or also cut (negative) around the trimmed box. */
  'trim-pad'?: number;

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

  // Text (imgix `txt*`). Present only with a non-blank `txt`; defaults are dropped (text-params.ts). Every
  // length is in CSS pixels, multiplied by `dpr` when drawn (steps/text.ts).
  /** One line of text, control characters replaced by spaces. */
  txt?: string;
  /** Canonical face: `[family, weight?, 'italic'?]`, e.g. `['serif', 'bold']` (text/font-names.ts). */
  'txt-font'?: string[];
  /** Pixels (default 12). */
  'txt-size'?: number;
  'txt-color'?: Rgba;
  /** Default bottom,right. */
  'txt-align'?: Align;
  /** Where an over-long text loses characters (default end), and whether an ellipsis marks the cut. */
  'txt-clip'?: readonly ['start' | 'middle' | 'end', 'ellipsis'?];
  /** Shrink the text to fit its box instead of clipping characters. */
  'txt-fit'?: 'max';
  /** The box's width; default the image's width less the padding on both sides. */
  'txt-width'?: number;
  /** Pixels from the aligned edges (default 10). */
  'txt-pad'?: number;
  /** Outline width in pixels, and its colour (default white). */
  'txt-line'?: number;
  'txt-line-color'?: Rgba;
  /** Shadow strength, 0–10. */
  'txt-shad'?: number;
  /** Letter spacing in pixels. */
  'txt-track'?: number;
  /** Pixels from the left / top edge; each overrides txt-align and txt-pad on its axis. */
  'txt-x'?: number;
  'txt-y'?: number;
  // Faces (imgix face detection). `fit=facearea` is the `fit` list above; `crop=faces` the first `crop` value.
  /** fit=facearea only: the face to crop to, 1-based (faces are numbered largest first); absent = all faces. */
  faceindex?: number;
  /** fit=facearea only: the face box is multiplied by this (1–10; 1, the default, is dropped). */
  facepad?: number;
  /** fm=json only: list the detected faces. */
  faces?: 1;
  /** 1–100: blur each detected face (sigma relative to the face's size). */
  'face-blur'?: number;
  /** 1–100: pixelate each detected face (block size relative to the face's size). */
  'face-pixel'?: number;
  // Animation (imgix `frame`, `fps`, `loop`, `reverse`, `skip`, `interval`); see animation-params.ts.
  /** One frame (1-based), or a range "M-N" / "M-" (open end). */
  frame?: number | string;
  /** Frames per second, 1–100: every frame's delay becomes 1000 / fps ms. */
  fps?: number;
  /** Times to play (0 = forever); absent keeps the source's own loop count. */
  loop?: number;
  reverse?: true;
  /** Drops every Nth frame starting with the first (N ≥ 2). */
  skip?: number;
  /** Keeps every Nth frame starting with the first (N ≥ 2). */
  interval?: number;
  // Output settings (imgix `jpg-progressive`, `chromasub`, `cs`, `dpi`, `iptc`; see output-params.ts).
  // Present only when they differ from imgix's defaults and the output may be a format they apply to.
  /** Only `false` (baseline): imgix's JPEGs are progressive by default. */
  'jpg-progressive'?: false;
  /** Only 444 (4:2:2 is served as 4:4:4); 4:2:0 is the default. */
  chromasub?: 444;
  /** Absent means imgix's default `origin`: the source's own RGB profile. */
  cs?: 'srgb' | 'adobergb1998' | 'tinysrgb' | 'strip';
  /** Density written into JPEG and PNG files (1–65535). */
  dpi?: number;
  /** Keep the source's IPTC block (JPEG to JPEG only). */
  iptc?: 'allow';
  // Tone and texture (tone-params.ts, steps/tone.ts). Defaults and no-op values are dropped.
  /** Shadow and highlight colours: luminance 0 maps to the first, 1 to the second. */
  duotone?: readonly [shadows: Rgba, highlights: Rgba];
  /** 1–99: how much of the duotone covers the image (100, the default, is dropped; 0 drops duotone). */
  'duotone-alpha'?: number;
  /** Unsharp mask amount, -100–100 (negative softens); radius `usmrad` in pixels (default 2.5, dropped). */
  usm?: number;
  usmrad?: number;
  /** Highlights -100–0 (darker), shadows 0–100 (lighter), vibrance -100–100. */
  high?: number;
  shad?: number;
  vib?: number;
  /** Halftone, 1–100: black and white dots, larger cells for larger values. */
  htn?: number;
  /** Noise reduction: both present when either was given (the other at imgix's default, 20). */
  nr?: number;
  nrs?: number;
  /** Exactly this many colours in the output (fewer when the image has fewer), 2–256. */
  colorquant?: number;
  // PDF (imgix `page`, `pdf-annotation`): only read when the source is a PDF (see pdf-params.ts).
  /** 1-based page; absent means 1 (kept as 1 only when it is the URL's only parameter). */
  page?: number;
  /** false hides the page's annotations (imgix's default is to draw them). */
  'pdf-annotation'?: false;
  // Canvas (imgix `mask`, `border*`, `fill=gradient`, `transparency`). See canvas-params.ts for the rules.
  /** `ellipse`, `corners`, or an image reference (URL or path) the delivery layer fetches, as given. */
  mask?: string;
  /** Only with mask=corners; absent means imgix's default of 20 % of the smaller side. */
  'corner-radius'?: Radii;
  /** Behind the masked-out area (default transparent; white once flattened). */
  'mask-bg'?: Rgba;
  /** Width (pixels) and colour; the border lies outside the padding, inside the requested size. */
  border?: readonly [width: number, color: Rgba];
  /** Per-side widths, only where they differ from border's width. */
  'border-top'?: number;
  'border-right'?: number;
  'border-bottom'?: number;
  'border-left'?: number;
  /** Radius of the border's outer edge (the output's corners) and of its inner edge. */
  'border-radius'?: Radii;
  'border-radius-inner'?: Radii;
  /** A line of this colour along the output's outer edge (both present or both absent). */
  'border-stroke-size'?: number;
  'border-stroke-color'?: Rgba;
  /** With fill=gradient: absent means linear. Colours absent: derived from the image. */
  'fill-gradient-type'?: 'radial';
  'fill-gradient-cs'?: Exclude<GradientColorSpace, 'srgb'>;
  'fill-gradient-linear'?: readonly [Rgba, Rgba];
  /** Absent means towards the bottom. */
  'fill-gradient-linear-direction'?: LinearDirection;
  'fill-gradient-radial'?: readonly [Rgba, Rgba];
  /** Radius of the first and second colour: pixels (≥ 2) or fractions (≤ 1) of the box's smaller side. */
  'fill-gradient-radial-radius'?: readonly [number, number];
  /** Centre: pixels (≥ 2) or a fraction (≤ 1) of the box's width / height; absent means 0.5. */
  'fill-gradient-radial-x'?: number;
  'fill-gradient-radial-y'?: number;
  /** A checkerboard behind transparent pixels (the output becomes opaque). */
  transparency?: 'grid';
  'grid-colors'?: readonly [Rgba, Rgba];
  /** Square size in pixels, multiplied by dpr (imgix docs); absent means 4. */
  'grid-size'?: number;
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
