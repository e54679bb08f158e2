import { startTrialProcess } from '../../../src/runs/sweep/queue/trial-process';

/**
 * Stands in for `pipeline worker` in lifeline.test.ts: starts one trial process exactly as a
 * worker does (startTrialProcess), prints its pid, then either dies at once (`now`: SIGKILL,
 * before the trial's Node has even started) or waits to be killed by the test.
 */
const [script, logFile, when, ...args] = process.argv.slice(2);
const trial = startTrialProcess(script, args, logFile);
process.stdout.write(`${trial.child.pid}\n`);
if (when === 'now') process.kill(process.pid, 'SIGKILL');
setInterval(() => {}, 60_000);
