import { formatDiagnosticHeadline, type Diagnostic } from '../errors';
import type { Position, SourceMap } from './source-map';
import { formatPath, type PathSeg } from './paths';

/** Sorted by position so the user reads them top to bottom; duplicates dropped. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of [...list].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path),
  )) {
    const k = `${d.file}:${d.line}:${d.column}:${d.path}:${d.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  }
  return out;
}

export function diagnosticAt(map: SourceMap, path: readonly PathSeg[], message: string, pos?: Position): Diagnostic {
  const p = pos ?? map.locate(path);
  return { file: map.file, line: p.line, column: p.column, path: formatPath(path), message, excerpt: map.excerpt(p) };
}

/** Human format: headline, then the offending line with a caret. */
export function formatDiagnostics(list: readonly Diagnostic[]): string {
  const parts = list.map((d) =>
    d.excerpt ? `${formatDiagnosticHeadline(d)}\n${d.excerpt}` : formatDiagnosticHeadline(d),
  );
  const n = list.length;
  // `--set ...` and `--param ...` problems carry the option as their "file"; they are not files.
  const files = new Set(list.filter((d) => !/^--(set|param) /.test(d.file)).map((d) => d.file)).size;
  parts.push(`${n} error${n === 1 ? '' : 's'}${files > 1 ? ` in ${files} files` : ''}`);
  return parts.join('\n');
}
