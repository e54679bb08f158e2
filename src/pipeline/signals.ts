import { InterruptedError } from '../errors';

/**
 * SIGINT/SIGTERM during training: the first one asks the loop to stop after the current
 * batch (it then writes a checkpoint and marks the run interrupted). The handlers are
 * removed at once, so a second signal terminates the process the default way: every file
 * is written atomically, so even that leaves nothing half-written.
 */
export interface StopSignal {
  readonly requested: boolean;
  readonly signal?: NodeJS.Signals;
  /**
   * Aborted by the same first signal, with an InterruptedError as its reason: work with no
   * batch boundary to stop at (a download, decoding images) ends at once on it.
   */
  readonly abort?: AbortSignal;
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function installStopSignals(onStop?: (signal: NodeJS.Signals) => void): StopSignal {
  let requested = false;
  let received: NodeJS.Signals | undefined;
  const controller = new AbortController();
  const dispose = () => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
  function handler(signal: NodeJS.Signals): void {
    requested = true;
    received = signal;
    dispose();
    onStop?.(signal);
    controller.abort(new InterruptedError(`interrupted (${signal})`));
  }
  for (const s of SIGNALS) process.on(s, handler);
  return {
    get requested() {
      return requested;
    },
    get signal() {
      return received;
    },
    abort: controller.signal,
    dispose,
  };
}
