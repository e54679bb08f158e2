import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node, type Pair } from 'yaml';
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
        const pair: Pair<unknown, unknown> | undefined = node.items.find((p: Pair<unknown, unknown>) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
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

  private startOf(node: Node | null | undefined): Position {
    if (!node || !node.range) return { line: 1, column: 1 };
    return this.at(node.range[0]);
  }

  /** The source line and a caret under the column, gutter-numbered like ESLint's codeframe. */
  excerpt(pos: Position): string | undefined {
    const src = this.lines[pos.line - 1];
    if (src === undefined) return undefined;
    const shown = src.replace(/\t/g, ' ');
    const gutter = String(pos.line);
    const caretPad = ' '.repeat(Math.max(0, pos.column - 1));
    return `  ${gutter} | ${shown}\n  ${' '.repeat(gutter.length)} | ${caretPad}^`;
  }
}
