import * as net from 'node:net';

/**
 * A trial's lifeline to its worker: one end of a socket pair the worker keeps open for as
 * long as it lives, the other given to the trial process as a file descriptor named by
 * this variable. The kernel closes the worker's end however the worker ends (exit, crash,
 * SIGKILL), so the trial reads end-of-file at that moment: no polling delay, and no blind
 * spot when the worker died before the trial had started watching.
 */
export const LIFELINE_FD_ENV = 'PIPELINE_LIFELINE_FD';

/** The descriptor the trial receives its end on (stdio 0-2 are its input and output). */
export const LIFELINE_FD = 3;

/**
 * Calls `gone` once when the other end of the lifeline on `fd` closes; does not keep the
 * process alive. False when `fd` is no socket this process can read (nothing to watch).
 */
export function onLifelineEnd(fd: number, gone: () => void): boolean {
  let line: net.Socket;
  try {
    line = new net.Socket({ fd, readable: true, writable: false });
  } catch {
    // Deliberate: the descriptor is closed or not a socket (the variable came from elsewhere).
    return false;
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    gone();
  };
  line.on('end', once);
  line.on('close', once);
  // A reset reads as the worker gone, like end-of-file: either way nobody holds the other end.
  line.on('error', once);
  line.resume();
  line.unref();
  return true;
}
