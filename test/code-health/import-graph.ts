import * as path from 'node:path';
import type { AstModule, Node, ParsedFile } from './typescript-sources';

/**
 * The folder-level import graph of src/: an edge A -> B when a file in
 * src/A/ imports one in src/B/ (files directly in src/ form the folder `src`).
 * Every import form counts: `import ... from`, `import type`, `export ... from`,
 * `import x = require()`, `require()`, dynamic `import()` and `import('...')` types.
 */

/** One import that crosses folders: the first seen for each edge, to name in messages. */
export interface Crossing {
  file: string;
  specifier: string;
}

/** from folder -> to folder -> the first import seen that makes the edge. */
export type FolderGraph = Map<string, Map<string, Crossing>>;

/** The module specifiers a file names, in every import form. */
export function importSpecifiers(ast: AstModule, root: Node): string[] {
  const out: string[] = [];
  const literal = (n: Node | undefined) => {
    if (n && ast.isStringLiteral(n)) out.push(n.text);
  };
  const visit = (n: Node): void => {
    if (ast.isImportDeclaration(n) || ast.isExportDeclaration(n)) literal(n.moduleSpecifier);
    else if (ast.isExternalModuleReference(n)) literal(n.expression);
    else if (ast.isImportTypeNode(n) && ast.isLiteralTypeNode(n.argument)) literal(n.argument.literal);
    else if (ast.isCallExpression(n)) {
      const callee = n.expression;
      const dynamicImport = callee.kind === ast.SyntaxKind.ImportKeyword;
      const require = ast.isIdentifier(callee) && callee.text === 'require';
      if (dynamicImport || require) literal(n.arguments[0]);
    }
    n.forEachChild(visit);
  };
  visit(root);
  return out;
}

/** The folder under src/ that holds a file (`src` for the files directly in it); undefined outside src/. */
export function folderOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts.length === 2 ? 'src' : parts[1];
}

export function folderGraph(ast: AstModule, files: readonly ParsedFile[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const { file, source } of files) {
    const from = folderOf(file);
    if (!from) continue;
    for (const specifier of importSpecifiers(ast, source)) {
      if (!specifier.startsWith('.')) continue; // a package, not a folder of src/
      const to = folderOf(path.posix.join(path.posix.dirname(file), specifier));
      if (!to || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, Crossing>();
      graph.set(from, edges);
      if (!edges.has(to)) edges.set(to, { file, specifier });
    }
  }
  return graph;
}

/**
 * Every elementary cycle of the graph, each once: as the folder list from its
 * alphabetically first folder round to it again (`['builders', 'schema', 'builders']`).
 * Folder graphs are small, so a depth-first search from each start folder suffices.
 */
export function folderCycles(graph: FolderGraph): string[][] {
  const folders = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])])].sort();
  const cycles: string[][] = [];
  for (const start of folders) {
    const walk = (at: string, trail: string[]) => {
      for (const next of [...(graph.get(at)?.keys() ?? [])].sort()) {
        if (next === start) cycles.push([...trail, start]);
        else if (next > start && !trail.includes(next)) walk(next, [...trail, next]);
      }
    };
    walk(start, [start]);
  }
  return cycles;
}

/** `folder import cycle: schema -> builders -> schema (src/schema/x.ts imports ../builders/y; ...)` */
export function describeCycle(graph: FolderGraph, cycle: readonly string[]): string {
  const crossings = cycle.slice(1).map((to, i) => {
    const c = graph.get(cycle[i])?.get(to);
    return c ? `${c.file} imports ${c.specifier}` : `${cycle[i]} -> ${to}`;
  });
  return `folder import cycle: ${cycle.join(' -> ')} (${crossings.join('; ')})`;
}
