import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateRuns, tempRoot } from '../test/runs/fixture';
import { listTable, lsTable } from '../src/runs/ls';
import { renderText } from '../src/runs/table';

/**
 * `pipeline ls` over 2,000 generated runs (target: under 2 s). Measures the
 * whole command as a user runs it (node start, CLI, reading, table) and the
 * in-process listing alone. Usage: node dist/bench/runs-ls.js [COUNT] [REPEATS]
 */
const count = Number(process.argv[2] ?? 2000);
const repeats = Number(process.argv[3] ?? 5);
const repo = path.resolve(__dirname, '../..');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = tempRoot('pipeline-bench-ls-');
try {
  let t = Date.now();
  generateRuns(root, count);
  console.log(`generated ${count} runs in ${((Date.now() - t) / 1000).toFixed(1)} s (${root})`);

  const inProcess: number[] = [];
  for (let i = 0; i < repeats; i++) {
    t = performance.now();
    const text = renderText(lsTable(listTable({ root })));
    inProcess.push(performance.now() - t);
    if (i === 0)
      console.log(`table: ${text.split('\n').length - 1} rows, header: ${text.split('\n')[0].replace(/\s+/g, ' ')}`);
  }

  const cli: number[] = [];
  for (let i = 0; i < repeats; i++) {
    t = performance.now();
    execFileSync(process.execPath, [path.join(repo, 'bin/pipeline.js'), 'ls', '--runs-dir', root], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    cli.push(performance.now() - t);
  }
  const cliSorted = [];
  for (let i = 0; i < repeats; i++) {
    t = performance.now();
    execFileSync(
      process.execPath,
      [path.join(repo, 'bin/pipeline.js'), 'ls', '--runs-dir', root, '--sort', 'testAccuracy:desc', '--json'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    cliSorted.push(performance.now() - t);
  }
  console.log(`in-process listing, median of ${repeats}: ${median(inProcess).toFixed(0)} ms`);
  console.log(`pipeline ls (whole command), median of ${repeats}: ${median(cli).toFixed(0)} ms  [target < 2000 ms]`);
  console.log(`pipeline ls --sort testAccuracy:desc --json, median of ${repeats}: ${median(cliSorted).toFixed(0)} ms`);
  if (median(cli) >= 2000) process.exitCode = 1;
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
