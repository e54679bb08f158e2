/**
 * A one-line download progress bar on stderr. It draws only on a terminal:
 * logs and CI output never get carriage-return noise.
 */
export interface ProgressBar {
  update(done: number): void;
  finish(): void;
}

const MB = 1024 * 1024;

export function createProgressBar(
  label: string,
  total: number | undefined,
  enabled: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressBar {
  if (!enabled || !stream.isTTY) return { update() {}, finish() {} };
  const started = Date.now();
  let lastDraw = 0;
  let current = 0;
  const draw = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${(current / MB / seconds).toFixed(1)} MB/s`;
    let line: string;
    if (total && total > 0) {
      const width = 30;
      const frac = Math.min(current / total, 1);
      const filled = Math.round(frac * width);
      line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${(current / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB ${rate}`;
    } else {
      line = `${label} ${(current / MB).toFixed(1)} MB ${rate}`;
    }
    const columns = stream.columns ?? 100;
    stream.write(`\r${line.slice(0, Math.max(columns - 1, 20)).padEnd(Math.max(columns - 1, 20))}`);
  };
  return {
    update(done: number) {
      current = done;
      const now = Date.now();
      if (now - lastDraw >= 100) {
        lastDraw = now;
        draw();
      }
    },
    finish() {
      draw();
      stream.write('\n');
    },
  };
}
