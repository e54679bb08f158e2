/** Number formats shared by progress lines and the eval report. */

export const fixed = (v: number | undefined, digits = 4) =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);

export const thousands = (v: number) => Math.round(v).toLocaleString('en-US');

/** 75 -> '1:15', 3725 -> '1:02:05'. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
