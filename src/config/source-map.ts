import { isMap, isPair, isScalar, isSeq, type LineCounter, type Document, type Node, type Pair } from 'yaml';
import type { PathSeg } from './paths';

export interface Position {
  line: number; // 1-based
  column: number; // 1-based
}

/**
 * Positions of values and keys in the parsed YAML document, so every later
 * stage (schema, shapes, overrides) can point at file:line:column.
 */
export class SourceMap {
  private readonly lines: string[];

  constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document | undefined,
    private readonly counter: LineCounter,
  ) {
    this.lines = text.split(/\r\n|\r|\n/);
  }

  at(offset: number): Position {
    const { line, col } = this.counter.linePos(offset);
    return { line, column: col };
  }

  /**
   * Position of the value at `path`, or of its key when `key` is set (for
   * unknown-key errors). Falls back to the nearest existing ancestor, which
   * is where a missing key belongs.
   */
  locate(path: readonly PathSeg[], opts: { key?: boolean } = {}): Position {
    if (!this.doc || !this.doc.contents) return { line: 1, column: 1 };
    let node: Node | null = this.doc.contents as Node;
    let best = this.startOf(node);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair: Pair<unknown, unknown> | undefined = node.items.find(
          (p: Pair<unknown, unknown>) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) return best;
        if (last && opts.key && pair.key) return this.startOf(pair.key as Node) ?? best;
        node = (pair.value as Node) ?? null;
        const start = node ? this.startOf(node) : this.startOf(pair.key as Node);
        if (start) best = start;
        if (!node) return best;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) return best;
        node = item;
        best = this.startOf(node) ?? best;
      } else {
        return best;
      }
    }
    return best;
  }

  /** Whether the file itself holds a value at `path` (not just an ancestor of it). */
  has(path: readonly PathSeg[]): boolean {
    let node: unknown = this.doc?.contents;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return false;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        if (seg >= node.items.length) return false;
        node = node.items[seg];
      } else {
        return false;
      }
    }
    return node !== undefined;
  }

  private startOf(node: Node | null | undefined): Position {
    if (!node || !node.range) return { line: 1, column: 1 };
    return this.at(node.range[0]);
  }

  /**
   * The source line and a caret under the column, gutter-numbered like
   * ESLint's codeframe. A long line (minified, or 10,000 `[`) is cut to a
   * window around the column, marked with "...".
   */
  excerpt(pos: Position): string | undefined {
    const src = this.lines[pos.line - 1];
    if (src === undefined) return undefined;
    const full = src.replace(/\t/g, ' ');
    const col = Math.max(0, pos.column - 1);
    let shown = full;
    let caretAt = col;
    if (full.length > EXCERPT_WIDTH) {
      const start = Math.max(0, Math.min(col - EXCERPT_WIDTH / 2, full.length - EXCERPT_WIDTH));
      const end = Math.min(full.length, start + EXCERPT_WIDTH);
      const head = start > 0 ? '...' : '';
      shown = head + full.slice(start, end) + (end < full.length ? '...' : '');
      caretAt = col - start + head.length;
    }
    const gutter = String(pos.line);
    return `  ${gutter} | ${shown.trimEnd()}\n  ${' '.repeat(gutter.length)} | ${' '.repeat(caretAt)}^`;
  }
}

/** Characters of a source line shown in an excerpt. */
const EXCERPT_WIDTH = 160;
