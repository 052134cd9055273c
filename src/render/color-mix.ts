/**
 * Mixing two colours in the colour spaces of imgix's `fill-gradient-cs`: srgb (the stored values), linear
 * (light intensity, no gamma), oklab, hsl and lch (CIE LCh, D65). Cylindrical spaces take the shorter way
 * round the hue circle. Alpha is mixed linearly in every space.
 */
import type { Rgba } from './colors.ts';
import type { GradientColorSpace } from './render-params.ts';

type Triple = [number, number, number];

export function mixColors(a: Rgba, b: Rgba, t: number, space: GradientColorSpace): Rgba {
  const lerp = (x: number, y: number) => x + (y - x) * t;
  const alpha = Math.round(lerp(a.a, b.a));
  const [from, to] = [a, b].map((c) => [c.r / 255, c.g / 255, c.b / 255] as Triple) as [Triple, Triple];
  let rgb: Triple;
  switch (space) {
    case 'srgb':
      rgb = mix3(from, to, t);
      break;
    case 'linear':
      rgb = mix3(from.map(toLinear) as Triple, to.map(toLinear) as Triple, t).map(fromLinear) as Triple;
      break;
    case 'oklab':
      rgb = oklabToRgb(mix3(rgbToOklab(from), rgbToOklab(to), t));
      break;
    case 'hsl':
      rgb = hslToRgb(mixHue(rgbToHsl(from), rgbToHsl(to), t, 0));
      break;
    case 'lch':
      rgb = labToRgb(lchToLab(mixHue(labToLch(rgbToLab(from)), labToLch(rgbToLab(to)), t, 2)));
      break;
  }
  const byte = (v: number) => Math.min(255, Math.max(0, Math.round(v * 255)));
  return { r: byte(rgb[0]), g: byte(rgb[1]), b: byte(rgb[2]), a: alpha };
}

/** HSL of an sRGB colour (h in degrees, s and l in 0…1). */
export function rgbToHsl([r, g, b]: Triple): Triple {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  if (d === 0) return [0, 0, l];
  const s = d / (1 - Math.abs(2 * l - 1));
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [(h * 60 + 360) % 360, s, l];
}

export function hslToRgb([h, s, l]: Triple): Triple {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const sector = Math.floor(h / 60) % 6;
  const [r, g, b] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][sector]!;
  return [r! + m, g! + m, b! + m];
}

function mix3(a: Triple, b: Triple, t: number): Triple {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/**
 * Mixes the hue (at `hueIndex`) the shorter way round; an achromatic end (saturation or chroma, always at
 * index 1, is 0) takes the other end's hue.
 */
function mixHue(a: Triple, b: Triple, t: number, hueIndex: 0 | 2): Triple {
  const ca = a[1];
  const cb = b[1];
  let ha = a[hueIndex]!;
  let hb = b[hueIndex]!;
  if (ca === 0) ha = hb;
  if (cb === 0) hb = ha;
  let delta = hb - ha;
  if (delta > 180) delta -= 360;
  if (delta < -180) delta += 360;
  const out = mix3(a, b, t);
  out[hueIndex] = (ha + delta * t + 360) % 360;
  return out;
}

function toLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function fromLinear(v: number): number {
  const c = Math.min(1, Math.max(0, v));
  return c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
}

function rgbToOklab(rgb: Triple): Triple {
  const [r, g, b] = rgb.map(toLinear) as Triple;
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

function oklabToRgb([L, a, b]: Triple): Triple {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ].map(fromLinear) as Triple;
}

const D65: Triple = [0.95047, 1, 1.08883];

function rgbToLab(rgb: Triple): Triple {
  const [r, g, b] = rgb.map(toLinear) as Triple;
  const xyz: Triple = [
    0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
    0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    0.0193339 * r + 0.119192 * g + 0.9503041 * b,
  ];
  const f = (v: number) => (v > 216 / 24389 ? Math.cbrt(v) : (24389 / 27 * v + 16) / 116);
  const [fx, fy, fz] = xyz.map((v, i) => f(v / D65[i]!)) as Triple;
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

function labToRgb([L, a, b]: Triple): Triple {
  const fy = (L + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const inv = (f: number) => (f ** 3 > 216 / 24389 ? f ** 3 : (116 * f - 16) / (24389 / 27));
  const [x, y, z] = [inv(fx) * D65[0], inv(fy) * D65[1], inv(fz) * D65[2]];
  return [
    3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
    -0.969266 * x + 1.8760108 * y + 0.041556 * z,
    0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
  ].map(fromLinear) as Triple;
}

function labToLch([L, a, b]: Triple): Triple {
  const c = Math.hypot(a, b);
  return [L, c < 1e-9 ? 0 : c, c < 1e-9 ? 0 : (Math.atan2(b, a) * 180 / Math.PI + 360) % 360];
}

function lchToLab([L, c, h]: Triple): Triple {
  const rad = (h * Math.PI) / 180;
  return [L, c * Math.cos(rad), c * Math.sin(rad)];
}
