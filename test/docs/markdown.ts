import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this test runs in. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The pages of the manual: the README and every page of docs/, as paths relative to the checkout. */
export function pages(): string[] {
  const docs = fs.readdirSync(path.join(REPO, 'docs')).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

export function read(page: string): string {
  return fs.readFileSync(path.join(REPO, page), 'utf8');
}

/** Fenced blocks whose info string is one of these are answers or pictures, never run. */
export const NOT_COMMANDS = new Set(['json', 'text', 'mermaid']);

export interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  info: string;
  body: string;
  /** The marker on the line just before the fence: `test: NAME`, `example: NAME`, `not run: REASON`. */
  marker: { kind: 'test' | 'example' | 'not run'; value: string } | undefined;
}

/** The fenced blocks of a page, each with the marker that precedes it. */
export function blocks(page: string): Block[] {
  const lines = read(page).split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && line === '```');
    if (close === -1) throw new Error(`${page}:${i + 1}: a fence that is never closed`);
    const marker = /^<!-- (test|example|not run): (.+?) -->$/.exec(lines[i - 1] ?? '');
    found.push({
      page,
      line: i + 1,
      info: open[1]!,
      body: lines.slice(i + 1, close).join('\n') + '\n',
      marker: marker ? { kind: marker[1] as 'test' | 'example' | 'not run', value: marker[2]! } : undefined,
    });
    i = close;
  }
  return found;
}

/** A page without its fenced blocks, whose `#` lines are shell comments, not headings. */
export function prose(page: string): string {
  return read(page).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/**
 * The anchors GitHub gives a page's headings: the heading's text without its markup, lowercased, every
 * character that is not a letter, digit, space, `-` or `_` dropped, spaces turned into `-`; a repeated
 * anchor gets `-1`, `-2`…
 */
export function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, title] of prose(page).matchAll(/^#{1,6} (.+)$/gm)) {
    const text = title!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The relative links of a page (outside code): `[text](target)` whose target is no URL with a scheme. */
export function relativeLinks(page: string): string[] {
  const links = [...prose(page).replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!);
  return links.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}
