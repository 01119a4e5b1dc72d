/**
 * The house keeps its shape: imports under src/ point down the layers of DESIGN.md (and the
 * README's "Map of the code"), never up and never in a circle, and the service domains depend on
 * each other without a circle either. Read from the source text, as a reviewer would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

/** Top to bottom: a file may import from its own layer and the ones below it. */
const LAYERS = ['runtime', 'app.ts', 'http', 'resolvers', 'schema', 'services', 'stores', 'db', 'lib', 'config'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** Every file of src/ with the src/ files it imports (static, type-only and dynamic imports alike). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) targets.push(resolve(dirname(file), specifier));
    }
    graph.set(file, targets);
  }
  return graph;
}

const name = (file: string) => relative(src, file);
const layerOf = (file: string) => LAYERS.indexOf(name(file).split('/')[0]!);
/** A service domain is its folder under services/; the files at services/ itself form the base. */
const domainOf = (file: string) => {
  const parts = name(file).split('/');
  return parts[0] === 'services' && parts.length > 2 ? `services/${parts[1]}` : parts[0] === 'services' ? 'services' : undefined;
};

/** The circles of a directed graph (each reported once, from its first node in sorted order). */
function circles(edges: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of [...(edges.get(node) ?? [])].sort()) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('the layers of src/', () => {
  const graph = importGraph();

  it('put every file in a layer of DESIGN.md', () => {
    expect([...graph.keys()].filter((file) => layerOf(file) < 0).map(name)).toEqual([]);
  });

  it('import only from their own layer or the ones below it', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (graph.has(target) && layerOf(target) < layerOf(file)) upward.push(`${name(file)} → ${name(target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('import no file that imports them back, however far round', () => {
    const edges = new Map([...graph].map(([file, targets]) => [name(file), new Set(targets.filter((t) => graph.has(t)).map(name))]));
    expect(circles(edges).map((circle) => circle.join(' → '))).toEqual([]);
  });

  it('keep the service domains free of circles between them', () => {
    const edges = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      const from = domainOf(file);
      if (!from) continue;
      for (const target of targets) {
        const to = domainOf(target);
        if (to && to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    expect(circles(edges).map((circle) => circle.join(' → '))).toEqual([]);
  });

  it('have its circle check catch a circle', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(circles(edges)).toEqual([['a', 'b', 'c', 'a']]);
  });
});
