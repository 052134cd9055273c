import fs from 'node:fs';

/** docs/production.md: its configuration blocks are what these tests run. */
export const GUIDE = new URL('../../docs/production.md', import.meta.url);

/** The fenced block that follows `<!-- example: NAME -->` in the guide. */
export function example(name: string): string {
  const text = fs.readFileSync(GUIDE, 'utf8');
  const marker = `<!-- example: ${name} -->\n`;
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`docs/production.md has no "${marker.trim()}"`);
  const fence = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(text.slice(at + marker.length));
  if (!fence || fence.index !== 0) throw new Error(`"${marker.trim()}" is not followed by a fenced block`);
  return fence[1]!;
}

/**
 * Replaces what only a deployment decides (ports, paths) to run a block here, and nothing else: each text must
 * occur exactly as often as said, so a changed guide fails here rather than being run half-replaced.
 */
export function substitute(block: string, replacements: readonly [from: string, to: string, times: number][]): string {
  let result = block;
  for (const [from, to, times] of replacements) {
    const found = result.split(from).length - 1;
    if (found !== times) throw new Error(`expected ${times} × ${JSON.stringify(from)} in the guide's block, found ${found}`);
    result = result.split(from).join(to);
  }
  return result;
}

/** `KEY=value` lines of a systemd environment file (comments and blank lines skipped). */
export function environmentFile(block: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}
