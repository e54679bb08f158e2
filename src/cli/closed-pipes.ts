/**
 * Keeps a command working when whoever reads its output goes away: `pipeline run ... | head`,
 * or a sweep killed while its trials run (their stdout and stderr are pipes to it). Node then
 * emits EPIPE on process.stdout / process.stderr, and with no listener the process dies
 * mid-work (exit 7, the run left marked `running`, no message anywhere). Output is a
 * convenience and the work is not: after such an error, writes to that stream are dropped,
 * the command finishes, its files are complete and its exit code says how the work went.
 */
export function surviveClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', () => {
      // Nothing can be reported on a stream that cannot be written: drop what follows.
      stream.write = ((...args: unknown[]) => {
        const done = args.find((a): a is () => void => typeof a === 'function');
        if (done) process.nextTick(done);
        return true;
      }) as typeof stream.write;
    });
  }
}
