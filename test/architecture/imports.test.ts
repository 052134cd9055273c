import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every `.ts` file under `dir`, as paths relative to src/. */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [path.relative(SRC, full)] : [];
  });
}

/** A file's folder: the first path segment under src/; a file directly under src/ is a node of its own. */
function folderOf(file: string): string {
  const [first, ...rest] = file.split(path.sep);
  return rest.length > 0 ? first! : file;
}

/** The relative modules a file imports or re-exports (`import … from`, `export … from`, `import '…'`, `import('…')`). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"](\.[^'"]+)['"]/g,
    /\bimport\s*['"](\.[^'"]+)['"]/g,
    /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** Folder → folder → the file imports that make the edge. */
function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    for (const specifier of importsOf(fs.readFileSync(path.join(SRC, file), 'utf8'))) {
      const target = path.relative(SRC, path.resolve(SRC, path.dirname(file), specifier));
      const to = folderOf(target);
      if (target.startsWith('..') || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), `${file} → ${target}`]);
    }
  }
  return graph;
}

/** Strongly connected components (Tarjan): each with more than one folder is an import loop. */
function components(graph: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('dependencies point one way', () => {
  it('the folders of src/ import each other without a loop', () => {
    const graph = folderGraph();
    assert.ok(graph.size > 10, 'the import graph was read');
    const loops = components(graph).filter((component) => component.length > 1);
    const described = loops.map((loop) => {
      const inside = new Set(loop);
      const edges = loop.flatMap((from) => [...(graph.get(from) ?? [])].filter(([to]) => inside.has(to)).flatMap(([, files]) => files));
      return `${loop.join(' ↔ ')}:\n  ${edges.join('\n  ')}`;
    });
    assert.deepEqual(described, [], `folder-level import loops:\n${described.join('\n')}`);
  });
});
