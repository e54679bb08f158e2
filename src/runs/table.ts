/**
 * One table, three renderings: aligned text for a terminal, GitHub Markdown for
 * pasting into a pull request, CSV for spreadsheets. Cells are already strings;
 * `align: 'right'` is for numbers.
 */

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export interface Table {
  columns: Column[];
  rows: string[][];
}

function width(s: string): number {
  // Code points, not UTF-16 units: '—' and '±' are one column.
  return [...s].length;
}

function pad(s: string, w: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

export function renderText(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(width(c.header), ...t.rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c ?? '', widths[i], t.columns[i].align))
      .join('  ')
      .replace(/\s+$/, '');
  return [line(t.columns.map((c) => c.header)), ...t.rows.map(line)].join('\n');
}

function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function renderMarkdown(t: Table): string {
  const head = `| ${t.columns.map((c) => mdCell(c.header)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.align === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  const body = t.rows.map((r) => `| ${t.columns.map((_, i) => mdCell(r[i] ?? '')).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(t: Table): string {
  return [
    t.columns.map((c) => csvCell(c.header)).join(','),
    ...t.rows.map((r) => t.columns.map((_, i) => csvCell(r[i] ?? '')).join(',')),
  ].join('\n');
}
