import * as fs from 'node:fs';

/**
 * Preloaded into a CLI child (`node --require cpu-probe.js bin/pipeline.js ...`)
 * by runCli: writes the process's CPU time (user + system, all threads) at exit
 * to $PIPELINE_CPU_PROBE. CPU time is what the command costs; wall time on a
 * shared 2-core machine also measures whatever else is running.
 */
const out = process.env.PIPELINE_CPU_PROBE;
if (out) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    fs.writeFileSync(out, String((user + system) / 1000));
  });
}
