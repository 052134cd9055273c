/**
 * imgix font names → one of the faces that ship with Pictor (fonts.ts).
 *
 * imgix's `txt-font` is a CSS generic (`serif`, `sans-serif`, `monospace`, `cursive`, `fantasy`) or one of
 * about a thousand PostScript names (`HelveticaNeue-Bold`, `Georgia-Italic`, `Courier`) or full names
 * (`Futura Condensed Medium`), optionally followed by `,bold` and/or `,italic`. Most of those fonts are
 * commercial, so each name is mapped by what it looks like: monospaced names (Courier, Menlo, Monaco, …) to
 * DejaVu Sans Mono, serif names (Times, Georgia, Palatino, …) to DejaVu Serif, Verdana-like wide names to
 * DejaVu Sans, and everything else — HelveticaNeue (imgix's default), Helvetica, Arial and unknown names —
 * to Noto Sans. Weight and slant come from the name (`-Bold`, `Light`, `BoldItalicMT`, `-It`) and the
 * modifiers. The result is one canonical value, so equivalent names share a cache entry.
 */

/** Pictor's faces, by the token that names them in a canonical `txt-font`. */
export type FontFamily = 'sans-serif' | 'serif' | 'monospace' | 'DejaVuSans';

export interface TextFont {
  family: FontFamily;
  /** CSS weight, 100–900. */
  weight: number;
  italic: boolean;
}

export const DEFAULT_FONT: TextFont = { family: 'sans-serif', weight: 400, italic: false };

const WEIGHTS: Readonly<Record<string, number>> = {
  thin: 100, extralight: 200, light: 300, regular: 400, medium: 500, semibold: 600, bold: 700, extrabold: 800, black: 900,
};

/** Name patterns, tried in order on the lower-case name without spaces, hyphens or underscores. */
const FAMILY_PATTERNS: readonly (readonly [RegExp, FontFamily])[] = [
  [/mono|courier|menlo|monaco|consol|inconsolata|sourcecode|typewriter|ocr[ab]/, 'monospace'],
  [/^(verdana|tahoma|geneva|dejavusans|bitstreamvera|lucidagrande|lucidasans)/, 'DejaVuSans'],
  [/sans|gothic|grotesk|helvetica|arial/, 'sans-serif'],
  [
    /serif|roman|times|georgia|garamond|baskerville|palatino|palladio|bookman|antiqua|didot|bodoni|cochin|hoefler|charter|cambria|caladea|century|schoolbook|c059|p052|stix|caslon|minion|iowan|constantia|mincho|myungjo|batang|songti|kaisei|shippori|superclarendon|rockwell|goudy|perpetua|sylfaen|athelas|charis|lora|merriweather|playfair/,
    'serif',
  ],
];

/** Weight words in names, most specific first. */
const NAME_WEIGHTS: readonly (readonly [RegExp, number])[] = [
  [/hairline|thin/, 100],
  [/(extra|ultra)light/, 200],
  [/light/, 300],
  [/(semi|demi)bold|demi/, 600],
  [/(extra|ultra)bold|heavy/, 800],
  [/black/, 900],
  [/bold/, 700],
  [/medium/, 500],
];

/** `txt-font` as given → the face Pictor draws it with. */
export function resolveFont(value: string): TextFont {
  const [rawName = '', ...modifiers] = value.split(',').map((part) => part.trim());
  const font = fromName(rawName);
  for (const modifier of modifiers) {
    const word = squash(modifier);
    if (word === 'italic' || word === 'oblique') font.italic = true;
    else if (WEIGHTS[word] !== undefined) font.weight = WEIGHTS[word];
  }
  return font;
}

/** The canonical `txt-font` list (`['serif', 'bold', 'italic']`), or undefined for the default face. */
export function canonicalFont(font: TextFont): string[] | undefined {
  if (font.family === DEFAULT_FONT.family && font.weight === DEFAULT_FONT.weight && !font.italic) return undefined;
  const out: string[] = [font.family];
  const weight = Object.entries(WEIGHTS).find(([, w]) => w === font.weight)?.[0];
  if (weight && weight !== 'regular') out.push(weight);
  if (font.italic) out.push('italic');
  return out;
}

function fromName(rawName: string): TextFont {
  const name = squash(rawName);
  // The CSS generics without a face of their own: cursive as an italic serif, fantasy as a black sans.
  if (name === 'cursive') return { family: 'serif', weight: 400, italic: true };
  if (name === 'fantasy') return { family: 'sans-serif', weight: 900, italic: false };
  if (name === 'serif' || name === 'monospace') return { family: name, weight: 400, italic: false };
  const family = FAMILY_PATTERNS.find(([pattern]) => pattern.test(name))?.[1] ?? 'sans-serif';
  const weight = NAME_WEIGHTS.find(([pattern]) => pattern.test(name))?.[1] ?? 400;
  // "-It", "BdIt", "LightIt" are the short italic suffixes of PostScript names.
  const italic = /italic|oblique|kursiv/.test(name) || /[-_ ](?:[A-Za-z]*[a-z])?It$/.test(rawName);
  return { family, weight, italic };
}

function squash(text: string): string {
  return text.toLowerCase().replace(/[\s_-]+/g, '');
}
