import pino from 'pino';
import type { BackendRequest } from '../backend';
import { UsageError } from '../errors';
import { openModelSource } from '../predict/model-source';
import { createPredictor } from '../predict/predictor';
import { buildServer, type ServeOptions } from './server';

/**
 * `pipeline serve`: load the model, listen, and on SIGTERM or SIGINT shut down gracefully:
 * stop accepting connections, answer the requests in progress (the batcher's timer still
 * fires; connections still open after 10 s are closed), then resolve, so the process exits 0.
 * A signal while the model is loading ends it before it listens (also 0); a second signal
 * exits at once (130).
 */

const SHUTDOWN_GRACE_MS = 10_000;

export interface ServeRequest extends Omit<ServeOptions, 'logger'> {
  ref: string;
  runsRoot: string;
  host: string;
  port: number;
  backend?: BackendRequest;
}

export async function serveModel(req: ServeRequest): Promise<void> {
  const logger = pino({ base: { pid: process.pid } });
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    process.once(signal, () => process.exit(130));
    if (stop) stop(signal);
    else early = signal;
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const source = openModelSource(req.ref, req.runsRoot);
  const predictor = await createPredictor(source, { backend: req.backend, batchSize: req.maxBatch });
  // The first forward pass sets up the backend's kernels; do it now rather than in a request.
  const { height, width, channels } = predictor.size;
  predictor.predict(new Uint8Array(height * width * channels), 1);
  if (early) {
    logger.info({ signal: early }, `${early} while loading: exiting`);
    predictor.dispose();
    return;
  }
  const { app, batcher } = buildServer(source, predictor, { ...req, logger });
  let address: string;
  try {
    address = await app.listen({ host: req.host, port: req.port });
  } catch (err) {
    predictor.dispose();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
      throw new UsageError(
        `cannot listen on ${req.host}:${req.port}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}`,
      );
    throw err;
  }
  const m = source.manifest;
  logger.info(
    { address, model: source.label, classes: m.classes.length, inputShape: m.inputShape, backend: predictor.backend },
    `serving ${source.label} on ${address}`,
  );
  await new Promise<void>((resolve) => {
    stop = (signal) => {
      logger.info({ signal }, `${signal}: finishing requests in progress, then exiting`);
      const grace = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      void app.close().then(() => {
        clearTimeout(grace);
        batcher.flush();
        predictor.dispose();
        logger.info('stopped');
        resolve();
      });
    };
    if (early) stop(early);
  });
}
