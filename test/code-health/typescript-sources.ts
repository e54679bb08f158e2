import * as path from 'node:path';
import type * as Ast from 'typescript/unstable/ast' with { 'resolution-mode': 'import' };

/**
 * The project's TypeScript files parsed by the TypeScript compiler itself
 * (its API runs the compiler in a child process), so the code-health checks
 * see imports and functions as the compiler does, not as a regular expression
 * guesses them.
 */

export type AstModule = typeof Ast;
export type SourceFile = Ast.SourceFile;
export type Node = Ast.Node;

export interface ParsedFile {
  /** Path from the project root, with forward slashes: `src/config/load.ts`. */
  file: string;
  source: SourceFile;
}

export interface ParsedProject {
  ast: AstModule;
  files: ParsedFile[];
}

/**
 * Every file of the project at `root` (as its tsconfig.json includes them)
 * whose path starts with `under`, parsed. Only syntax is read: no type checking.
 */
export async function parseProject(root: string, under = 'src/'): Promise<ParsedProject> {
  const ast = await import('typescript/unstable/ast');
  const { API } = await import('typescript/unstable/sync');
  const api = new API({ cwd: root });
  try {
    const tsconfig = path.join(root, 'tsconfig.json');
    const project = api.updateSnapshot({ openProject: tsconfig }).getProject(tsconfig);
    if (!project) throw new Error(`${tsconfig}: the TypeScript API opened no project`);
    const files: ParsedFile[] = [];
    for (const name of project.program.getSourceFileNames()) {
      const file = path.relative(root, name).split(path.sep).join('/');
      if (!file.startsWith(under)) continue;
      const source = project.program.getSourceFile(name);
      if (!source) throw new Error(`${file}: the TypeScript API returned no source file`);
      files.push({ file, source });
    }
    files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return { ast, files };
  } finally {
    api.close();
  }
}

/** 1-based line of a position in the file. */
export function lineOf(source: SourceFile, position: number): number {
  return source.getLineAndCharacterOfPosition(position).line + 1;
}
