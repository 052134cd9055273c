/**
 * imgix's two palette documents. JSON: `colors` as {red, hex, blue, green} with channels as fractions
 * (six significant digits), `average_luminance`, and `dominant_colors` by name. CSS: a foreground (`color`)
 * and a background (`background-color`) class per colour, numbered from 1, then white and black as
 * `-ex-1`/`-ex-2` (the one nearer the first colour's lightness first), then the dominant colours.
 */
import { luma, type DominantName, type Palette, type Rgb } from './palette.ts';

/** imgix's key order in `dominant_colors`. */
const JSON_ORDER: readonly DominantName[] = ['vibrant', 'muted_light', 'muted', 'vibrant_dark', 'vibrant_light', 'muted_dark'];
/** imgix's order of the dominant classes in the CSS. */
const CSS_ORDER: readonly DominantName[] = ['vibrant', 'muted_dark', 'muted', 'vibrant_light', 'muted_light', 'vibrant_dark'];
const WHITE: Rgb = { r: 255, g: 255, b: 255 };
const BLACK: Rgb = { r: 0, g: 0, b: 0 };

export function paletteJson(palette: Palette): string {
  const dominant: Record<string, unknown> = {};
  for (const name of JSON_ORDER) {
    const color = palette.dominant[name];
    if (color) dominant[name] = jsonColor(color);
  }
  return JSON.stringify({
    colors: palette.colors.map(jsonColor),
    average_luminance: fraction(palette.averageLuminance),
    dominant_colors: dominant,
  });
}

/** `prefix` must already be a valid CSS class name (palette-params.ts checks it). */
export function paletteCss(palette: Palette, prefix: string): string {
  const rules: string[] = [];
  const pair = (suffix: string, color: Rgb) => {
    rules.push(`.${prefix}-fg-${suffix} { color:${hex(color)} !important; }`);
    rules.push(`.${prefix}-bg-${suffix} { background-color:${hex(color)} !important; }`);
  };
  palette.colors.forEach((color, i) => pair(String(i + 1), color));
  const first = palette.colors[0];
  const lightFirst = first === undefined || luma(first.r, first.g, first.b) >= 127.5;
  pair('ex-1', lightFirst ? WHITE : BLACK);
  pair('ex-2', lightFirst ? BLACK : WHITE);
  for (const name of CSS_ORDER) {
    const color = palette.dominant[name];
    if (color) pair(name.replace('_', '-'), color);
  }
  return `${rules.join('\n')}\n`;
}

function jsonColor(color: Rgb): Record<string, number | string> {
  return { red: fraction(color.r / 255), hex: hex(color), blue: fraction(color.b / 255), green: fraction(color.g / 255) };
}

function fraction(value: number): number {
  return Number(value.toPrecision(6));
}

function hex({ r, g, b }: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
