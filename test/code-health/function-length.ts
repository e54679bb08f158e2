import { lineOf, type AstModule, type Node, type ParsedFile } from './typescript-sources';

/** A function in the source and its length in lines, from its first line (signature) to its closing brace. */
export interface FunctionSpan {
  file: string;
  line: number;
  name: string;
  lines: number;
}

/** The name a function goes by: its own, its variable's, its property's, else `(anonymous)`. */
function nameOf(ast: AstModule, fn: Node): string {
  const own = (fn as { name?: Node }).name;
  if (own && (ast.isIdentifier(own) || ast.isStringLiteral(own))) return own.text;
  if (ast.isConstructorDeclaration(fn)) return 'constructor';
  const parent = fn.parent;
  if (parent && (ast.isVariableDeclaration(parent) || ast.isPropertyAssignment(parent))) {
    const name = parent.name;
    if (ast.isIdentifier(name) || ast.isStringLiteral(name)) return name.text;
  }
  return '(anonymous)';
}

function isFunction(ast: AstModule, n: Node): boolean {
  return (
    ast.isFunctionDeclaration(n) ||
    ast.isFunctionExpression(n) ||
    ast.isArrowFunction(n) ||
    ast.isMethodDeclaration(n) ||
    ast.isConstructorDeclaration(n) ||
    ast.isGetAccessorDeclaration(n) ||
    ast.isSetAccessorDeclaration(n)
  );
}

/** Every function with a body in the files, nested ones too (an outer function's lines include its inner ones). */
export function functionSpans(ast: AstModule, files: readonly ParsedFile[]): FunctionSpan[] {
  const spans: FunctionSpan[] = [];
  for (const { file, source } of files) {
    const visit = (n: Node): void => {
      if (isFunction(ast, n) && (n as { body?: Node }).body) {
        const first = lineOf(source, n.getStart(source));
        const last = lineOf(source, n.end);
        spans.push({ file, line: first, name: nameOf(ast, n), lines: last - first + 1 });
      }
      n.forEachChild(visit);
    };
    visit(source);
  }
  return spans;
}
