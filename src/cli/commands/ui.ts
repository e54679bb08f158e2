import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { withBoundary } from '../boundary';
import { PipelineError, UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';

interface UiFlags {
  runsDir?: string;
  port: string;
  host: string;
  open?: boolean;
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('a local web dashboard over the runs folder: runs table, run pages, compare, sweeps, live updates')
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--port <n>', 'port to listen on (0: any free port)', '7007')
    .option(
      '--host <address>',
      'address to listen on; anything but loopback exposes your runs to the network',
      '127.0.0.1',
    )
    .option('--open', 'open the dashboard in the default browser')
    .addHelpText(
      'after',
      "\nRead-only: it serves the runs folder's files and a JSON API, never changes them. Stop it with Ctrl-C.",
    )
    .action(async (opts: UiFlags) => {
      process.exitCode = await withBoundary(() => serve(opts));
    });
}

async function serve(opts: UiFlags): Promise<void> {
  if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535)
    throw new UsageError(`--port must be a number from 0 to 65535, got "${opts.port}"`);
  // Loaded here, not at the top: `pipeline --help` registers every command and need not load fastify.
  const { createUiServer, isLoopback } = require('../../ui/server') as typeof import('../../ui/server');
  const root = resolveRunsRoot(opts.runsDir);
  // A runs folder that is a file (or unreadable) is refused now, with the boundary's message, not on every request.
  // One that does not exist yet is served empty: runs appear as they are made.
  if (fs.existsSync(root)) fs.readdirSync(root);
  const app = createUiServer({ root, host: opts.host });
  // Ctrl-C or SIGTERM closes the server (exit 0). Caught from before the address is printed:
  // whoever reads it may stop the server at once.
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void app.close().then(() => resolve());
    };
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let address: string;
  try {
    address = await app.listen({ host: opts.host, port: Number(opts.port) });
  } catch (err) {
    stop();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new PipelineError(`port ${opts.port} on ${opts.host} is in use; choose another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`--host ${opts.host}: not an address of this machine`);
    throw err;
  }
  const url = address + '/';
  if (!isLoopback(opts.host)) {
    process.stderr.write(
      `warning: listening on ${opts.host}: anyone who can reach this machine on port ${new URL(url).port} can read every run in ${root}\n`,
    );
  }
  process.stdout.write(`pipeline ui: ${root} at ${url}\n`);
  if (opts.open) openBrowser(url);
  await stopped;
}

/** The platform's opener; a failure to open is not a failure to serve. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`could not start ${cmd}; open ${url} yourself\n`));
    child.unref();
  } catch {
    // spawn throws synchronously only when it cannot start the opener at all.
    process.stderr.write(`open ${url} in a browser\n`);
  }
}
