/**
 * stderr shared by the progress bar and the log: on a terminal, a status line that is
 * redrawn in place, with log lines printed above it (the bar is cleared first, then
 * redrawn). Off a terminal there is no status line, only whole lines.
 */
export interface Terminal {
  readonly isTTY: boolean;
  /** Print whole line(s) (a trailing newline is added when missing). */
  print(text: string): void;
  /** Replace the status line (TTY only; ignored otherwise). */
  status(text: string): void;
  /** Remove the status line, e.g. before the process prints its result. */
  clearStatus(): void;
}

export function createTerminal(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
): Terminal {
  const isTTY = stream.isTTY === true;
  let current = '';
  const fit = (text: string) => {
    const columns = stream.columns || 100; // 0 when the terminal does not report a size
    return text.length >= columns ? text.slice(0, Math.max(columns - 1, 20)) : text;
  };
  const erase = () => {
    if (current) stream.write('\r\x1b[K');
  };
  return {
    isTTY,
    print(text) {
      erase();
      stream.write(text.endsWith('\n') ? text : text + '\n');
      if (current) stream.write(current);
    },
    status(text) {
      if (!isTTY) return;
      erase();
      current = fit(text);
      stream.write(current);
    },
    clearStatus() {
      erase();
      current = '';
    },
  };
}

/** A terminal that prints nothing (library callers and tests that want silence). */
export const silentTerminal: Terminal = { isTTY: false, print() {}, status() {}, clearStatus() {} };
