import pino from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Terminal } from './terminal';

export type Logger = pino.Logger;

/**
 * The run's log: every record (debug and up) as JSON lines appended to the run's
 * log.jsonl (one synchronous write per record), and info and up pretty-printed on
 * stderr through the shared terminal (message only, coloured on a TTY; the fields are in
 * the file). Per-epoch and checkpoint records are debug: on stderr the progress callback
 * already shows them.
 */
export function createRunLogger(o: { terminal: Terminal; file?: string }): { logger: Logger; close(): void } {
  const prettify = prettyFactory({
    colorize: o.terminal.isTTY,
    hideObject: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss',
  });
  const streams: pino.StreamEntry[] = [
    { level: 'info', stream: { write: (line: string) => o.terminal.print(prettify(line)) } },
  ];
  let file: ReturnType<typeof pino.destination> | undefined;
  if (o.file) {
    file = pino.destination({ dest: o.file, append: true, sync: true });
    // The log file is a record, not the run: a full disk must not crash the process before
    // meta.json says why the run failed (readers skip a cut last line).
    file.on('error', () => undefined);
    streams.push({ level: 'debug', stream: file });
  }
  const logger = pino({ level: 'debug', base: { pid: process.pid } }, pino.multistream(streams));
  return {
    logger,
    close() {
      file?.flushSync();
      file?.end();
    },
  };
}
