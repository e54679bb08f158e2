/**
 * Preloaded (`node --require`) into a worker's trial process. The trial runs in
 * its own process group (so one Ctrl-C reaches it once, through the worker);
 * the cost is that it would outlive a worker killed outright and keep training
 * a trial that the queue hands to another worker. So: when the parent process
 * is gone, the trial interrupts itself as Ctrl-C would (finish the batch, write
 * its checkpoint, exit 130), leaving a run that can be continued.
 */
const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(timer);
    process.kill(process.pid, 'SIGINT');
  }
}, 100);
timer.unref();
export {};
