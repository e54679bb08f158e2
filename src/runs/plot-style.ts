/** How runs look in a plot, shared by the SVG and the HTML page. */

/** Ten colours that tell lines apart (Tableau 10); after ten, the colours come round again with dashes. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
export const DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
];

/** Colour and dash of the i-th series: no two series share both until PALETTE x DASHES (40) are used. */
export function seriesStyle(i: number): { color: string; dash: number[] } {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] };
}

/** A run not drawn, and why (failed, no data). */
export interface LeftOut {
  run: string;
  why: string;
}
