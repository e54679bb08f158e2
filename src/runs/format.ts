import { formatNumber } from './flatten';

/** Cell formatting shared by ls, show, diff and the sweep leaderboard. */

/** 45s, 3m12s, 1h02m, 2d03h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Local time, minute precision: what a person scanning a list needs. */
export function formatStarted(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A metric value: 4 significant decimals, enough to tell runs apart, short enough for a table. */
export function formatMetric(v: unknown): string {
  if (typeof v !== 'number') return '—';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return a >= 100 ? v.toFixed(1) : v.toFixed(4);
}

/** +0.0123 / -0.0050 */
export function formatDelta(v: number | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  // Fixed decimals read best in a column of changes; only vanishing ones need an exponent.
  const s =
    a !== 0 && a < 5e-5 ? a.toExponential(1) : Number.isInteger(a) ? String(a) : a >= 100 ? a.toFixed(1) : a.toFixed(4);
  return v > 0 ? `+${s}` : v < 0 ? `-${s}` : formatMetric(0);
}

/** +4.1% */
export function formatPercent(v: number | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const pct = v * 100;
  const s = Math.abs(pct) >= 100 ? Math.abs(pct).toFixed(0) : Math.abs(pct).toFixed(1);
  return pct > 0 ? `+${s}%` : pct < 0 ? `-${s}%` : '0.0%';
}

export { formatNumber };
