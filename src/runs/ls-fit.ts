/**
 * Fitting a table of runs into a terminal's width: columns are added in order
 * while they fit; a long text column may be cut with '…', and the architecture
 * column first loses the beginning every row shares (conv6-pool-conv16-pool-…).
 */

export interface FitColumn<R> {
  key: string;
  header: string;
  kind: 'text' | 'number';
  value: (r: R) => unknown;
  format: (v: unknown) => string;
  /** Cells longer than this are cut with '…' (set when fitting a width). */
  maxWidth?: number;
  /** A beginning every cell shares, shown as '…' (set when fitting a width). */
  common?: string;
}

const GAP = 2;
/** A text column cut shorter than this says too little to be worth showing. */
const MIN_CUT = 12;

function naturalWidth<R>(c: FitColumn<R>, rows: R[]): number {
  return Math.max([...c.header].length, ...rows.map((r) => [...elide(c.format(c.value(r)), c.common)].length));
}

function elide(cell: string, common: string | undefined): string {
  return common && cell.startsWith(common) ? '…' + cell.slice(common.length) : cell;
}

/**
 * The leading `-`-separated words every architecture shares (conv6-pool-conv16-pool-d120-): the
 * rest tells the runs apart. One shared word stays for context when that fits; what is saved
 * leaves room for the columns after it.
 */
function commonArch<R>(c: FitColumn<R>, rows: R[], room: number, archOf: (r: R) => string | null): string | undefined {
  const words = rows.map((r) => (archOf(r) ?? '').split('-'));
  let n = 0;
  while (rows.length > 1 && words.every((w) => n < w.length - 1 && w[n] === words[0][n])) n++;
  for (let k = Math.max(1, n - 1); k <= n; k++) {
    const common = words[0].slice(0, k).join('-') + '-';
    if (k === n || naturalWidth({ ...c, common }, rows) <= room) return common;
  }
  return undefined;
}

/** Adds optional columns in order while they fit; a long text column (arch, tags) may be shortened or cut with '…'. */
export function fitWidth<R, C extends FitColumn<R>>(
  rows: R[],
  fixed: C[],
  optional: C[],
  width: number,
  archOf: (r: R) => string | null,
): { columns: C[]; hidden: string[] } {
  let used = fixed.reduce((s, c) => s + naturalWidth(c, rows), 0) + GAP * (fixed.length - 1);
  const columns = [...fixed];
  const hidden: string[] = [];
  for (let c of optional) {
    const room = width - used - GAP;
    if (naturalWidth(c, rows) > room && c.key === 'arch') c = { ...c, common: commonArch(c, rows, room, archOf) };
    const w = naturalWidth(c, rows);
    if (w <= room) {
      columns.push(c);
      used += GAP + w;
    } else if (c.kind === 'text' && room >= Math.max(MIN_CUT, [...c.header].length)) {
      columns.push({ ...c, maxWidth: room });
      used += GAP + room;
    } else {
      hidden.push(c.header);
    }
  }
  return { columns, hidden };
}

function cut(s: string, max: number | undefined): string {
  const chars = [...s];
  return max === undefined || chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}

/** A cell as the fitted table shows it. */
export function cellText<R>(c: FitColumn<R>, v: unknown): string {
  return cut(elide(c.format(v), c.common), c.maxWidth);
}
