/**
 * The fonts `txt` renders with come from npm packages (DejaVu, Noto Sans and Noto's script faces),
 * never from the machine: sharp's fontconfig is pointed at a generated `fonts.conf` that lists only their
 * folders. fontconfig reads FONTCONFIG_FILE once, when the first text (or SVG with text) is laid out, so
 * `useBundledFonts()` must run before that in every process that renders: configureSharp() calls it at start
 * (server and render process), and the text step calls it again in case render() runs without that.
 * Importing sharp earlier is harmless.
 *
 * Any character a face lacks is taken from another registered font (fontconfig's fallback), so Latin, Greek,
 * Cyrillic, Devanagari (in Noto Sans), Hebrew, Arabic, Bengali, Thai, Chinese, Japanese, Korean and emoji (monochrome Noto
 * Emoji: sharp's text rendering draws no colour glyphs) render whatever face is asked for. Characters none of
 * them has (rarer scripts) are drawn as boxes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setNativeEnvironment } from '../../config/native-environment.ts';

/** Family names as fontconfig reports them from the packaged files. */
export const FAMILY = {
  sans: 'Noto Sans',
  serif: 'DejaVu Serif',
  mono: 'DejaVu Sans Mono',
  wideSans: 'DejaVu Sans',
} as const;

/** Font folders inside the packages (fontconfig scans folders recursively). */
const FONT_FOLDERS: readonly (readonly [pkg: string, sub: readonly string[]])[] = [
  ['dejavu-fonts-ttf', ['ttf']],
  ['@expo-google-fonts/noto-sans', ['.']],
  ['@expo-google-fonts/noto-sans-jp', ['400Regular', '700Bold']],
  ['@expo-google-fonts/noto-sans-arabic', ['400Regular', '700Bold']],
  ['@expo-google-fonts/noto-sans-kr', ['400Regular', '700Bold']],
  ['@expo-google-fonts/noto-sans-bengali', ['400Regular', '700Bold']],
  ['@expo-google-fonts/noto-sans-thai', ['400Regular', '700Bold']],
  ['@expo-google-fonts/noto-emoji', ['400Regular', '700Bold']],
];

/**
 * The script faces after the asked-for one, in the order a generic name tries them. Noto Sans JP comes before
 * KR so that Han characters keep their Japanese forms, as before Hangul was covered.
 */
const SCRIPT_FALLBACKS = [
  'Noto Sans JP', 'Noto Sans KR', 'Noto Sans Arabic', 'Noto Sans Bengali', 'Noto Sans Thai', 'Noto Emoji',
] as const;

let configured: string | undefined;

/** Writes the fonts.conf (once per process) and points fontconfig at it. Returns its path. */
export function useBundledFonts(): string {
  if (configured === undefined) configured = writeFontsConf();
  setNativeEnvironment('FONTCONFIG_FILE', configured);
  return configured;
}

function writeFontsConf(): string {
  const xml = fontsConf(fontFolders());
  // Named by content: processes of one installation share the file and fontconfig's cache beside it.
  const digest = createHash('sha256').update(xml).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `pictor-fonts-${digest}`);
  const file = path.join(dir, 'fonts.conf');
  mkdirSync(path.join(dir, 'cache'), { recursive: true });
  if (existsSync(file)) return file;
  // Written aside and renamed, so that a process starting alongside never reads half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, xml.replace('@CACHEDIR@', escapeXml(path.join(dir, 'cache'))));
  renameSync(temporary, file);
  return file;
}

function fontFolders(): string[] {
  const require = createRequire(import.meta.url);
  const folders: string[] = [];
  for (const [pkg, subs] of FONT_FOLDERS) {
    let root: string;
    try {
      root = path.dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      continue; // a missing package only loses its faces (fallback does the rest)
    }
    for (const sub of subs) {
      const folder = path.resolve(root, sub);
      if (existsSync(folder)) folders.push(folder);
    }
  }
  return folders;
}

/**
 * Only the packaged folders (no system configuration is included). The generic names prefer the matching
 * packaged face, then the script fallbacks, so every family lookup ends in a face that exists here.
 */
function fontsConf(folders: readonly string[]): string {
  const prefer = (first: string) =>
    [first, FAMILY.sans, ...SCRIPT_FALLBACKS, FAMILY.wideSans].map((family) => `<family>${family}</family>`).join('');
  const alias = (generic: string, first: string) => `  <alias binding="same"><family>${generic}</family><prefer>${prefer(first)}</prefer></alias>`;
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
    '<fontconfig>',
    ...folders.map((folder) => `  <dir>${escapeXml(folder)}</dir>`),
    '  <cachedir>@CACHEDIR@</cachedir>',
    alias('sans-serif', FAMILY.sans),
    alias('serif', FAMILY.serif),
    alias('monospace', FAMILY.mono),
    '</fontconfig>',
    '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
