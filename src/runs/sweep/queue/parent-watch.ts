import { LIFELINE_FD_ENV, onLifelineEnd } from './lifeline';

/**
 * Preloaded (`node --require`) into a worker's trial process. The trial runs in
 * its own process group (so one Ctrl-C reaches it once, through the worker);
 * the cost is that it would outlive a worker killed outright and keep training
 * a trial that the queue hands to another worker. So: when the worker is gone
 * (its end of the lifeline closed), the trial interrupts itself as Ctrl-C would
 * (finish the batch, write its checkpoint, exit 130), leaving a run that can be
 * continued; before its run has begun, the signal simply ends the process.
 */
const given = process.env[LIFELINE_FD_ENV] ?? '';
const fd = given === '' ? NaN : Number(given);
// The trial's own child processes have no lifeline of their own.
delete process.env[LIFELINE_FD_ENV];
if (!(Number.isInteger(fd) && fd > 2 && onLifelineEnd(fd, () => process.kill(process.pid, 'SIGINT')))) {
  process.stderr.write(
    `warning: no lifeline to the worker (${LIFELINE_FD_ENV}=${given}); this trial will not stop by itself if its worker dies\n`,
  );
}
