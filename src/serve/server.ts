import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { ModelSource } from '../predict/model-source';
import { topK, type Predictions, type Predictor } from '../predict/predictor';
import { DynamicBatcher } from './batcher';
import { BadInput, fromImageBody, fromJsonBody, type DecodedInputs } from './instances';

/**
 * The HTTP service of `pipeline serve` (fastify): GET /healthz, GET /metadata, POST /predict.
 * Every error is JSON {"error": message, "code": ...}: 400 bad input, 404 unknown route,
 * 413 body over the limit, 415 unsupported content type, 503 over the concurrency limit
 * or shutting down. One pino line per request.
 */

export interface ServeOptions {
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Requests in progress at once; more are answered 503 at once. */
  maxConcurrent: number;
  /** Dynamic batching: largest batch, and how long the first request of a batch waits for others. */
  maxBatch: number;
  batchDelayMs: number;
  /** Default classes per prediction (?top_k= overrides). */
  topK: number;
  logger: Logger;
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'application/octet-stream'];

/** What a prediction request's log line adds: its images, and the images of the forward pass they shared. */
type Counted = { images?: number; batch?: number };

export function buildServer(
  source: ModelSource,
  predictor: Predictor,
  o: ServeOptions,
): { app: FastifyInstance; batcher: DynamicBatcher } {
  const app: FastifyInstance = Fastify({
    loggerInstance: o.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    return503OnClosing: true,
  });
  const batcher = new DynamicBatcher(predictor, { maxBatch: o.maxBatch, delayMs: o.batchDelayMs });
  // Only JSON and image bodies: fastify's text/plain parser would turn a wrong type into a 400, not a 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  logRequests(app);
  limitConcurrency(app, o.maxConcurrent);
  closeConnectionsWhenClosing(app);
  app.setErrorHandler((err: FastifyError, req, reply) =>
    sendError(reply, err.statusCode ?? 500, errorMessage(err, req, o), err.code),
  );
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      404,
      `no route ${req.method} ${req.url.split('?')[0]}; routes: GET /healthz, GET /metadata, POST /predict`,
      'NOT_FOUND',
    ),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metadata', async () => metadata(source, predictor, batcher, o));
  app.post('/predict', async (req: FastifyRequest<{ Querystring: { top_k?: string } }>, reply) => {
    const k = req.query.top_k === undefined ? o.topK : Number(req.query.top_k);
    if (!Number.isInteger(k) || k < 1)
      return sendError(reply, 400, `top_k=${req.query.top_k}: expected a whole number >= 1`, 'BAD_INPUT');
    let inputs: DecodedInputs;
    try {
      inputs = Buffer.isBuffer(req.body)
        ? fromImageBody(req.body, predictor.size)
        : fromJsonBody(req.body, predictor.size);
    } catch (err) {
      if (err instanceof BadInput) return sendError(reply, 400, err.message, 'BAD_INPUT');
      throw err;
    }
    const p = await batcher.submit(inputs.pixels, inputs.n);
    Object.assign(req as Counted, { images: inputs.n, batch: p.batchSize } satisfies Counted);
    return {
      model: source.label,
      predictions: inputs.resized.map((resized, i) => prediction(p, i, predictor.classes, k, resized)),
    };
  });
  return { app, batcher };
}

function prediction(p: Predictions, i: number, classes: readonly string[], k: number, resized: unknown) {
  const top = topK(p, i, classes, k).map(({ class: c, probability }) => ({ class: c, probability }));
  return { class: top[0].class, probability: top[0].probability, top, resized: resized ?? null };
}

/** Fastify's own errors in words that name the limit or what is accepted. */
function errorMessage(err: FastifyError, req: FastifyRequest, o: ServeOptions): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than the limit of ${o.bodyLimit} bytes (--body-limit)`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `${req.headers['content-type'] ? `unsupported content type ${JSON.stringify(req.headers['content-type'])}` : 'no content type'}; send application/json ({"instances": [...]}) or an image as ${IMAGE_TYPES.join(', ')}`;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'the body is not valid JSON';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty';
  }
  if (!err.statusCode || err.statusCode >= 500) {
    req.log.error({ err }, 'internal error');
    return `internal error: ${err.message}`;
  }
  return err.message;
}

/** Answered without reading the body (413, 503): the connection cannot carry another request, so it is closed. */
const UNREAD_BODY = new Set([413, 503]);

function sendError(reply: FastifyReply, status: number, message: string, code?: string): FastifyReply {
  if (UNREAD_BODY.has(status)) reply.header('connection', 'close');
  return reply
    .code(status)
    .type('application/json')
    .send({ error: message, code: code ?? `HTTP_${status}` });
}

/** Counts requests from arrival until their connection is done with them (answered or closed). */
function limitConcurrency(app: FastifyInstance, max: number): void {
  let active = 0;
  app.addHook('onRequest', (req, reply, done) => {
    if (req.url === '/healthz') return done();
    if (active >= max) {
      void sendError(
        reply,
        503,
        `busy: ${max} requests in progress (the --max-concurrent limit); retry shortly`,
        'OVERLOADED',
      );
      return;
    }
    active++;
    reply.raw.once('close', () => active--);
    done();
  });
}

/** While shutting down, answers end their keep-alive connection, so close() need not wait for the clients to. */
function closeConnectionsWhenClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

function logRequests(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    (req as unknown as { startedAt: number }).startedAt = performance.now();
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const { images, batch } = req as Counted;
    req.log.info(
      {
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: Number(reply.elapsedTime.toFixed(2)),
        ...(images ? { images, batch } : {}),
      },
      'request',
    );
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    req.log.info(
      {
        method: req.method,
        url: req.url,
        aborted: true,
        ms: Number((performance.now() - (req as unknown as { startedAt: number }).startedAt).toFixed(2)),
      },
      'request aborted by the client',
    );
    done();
  });
}

function metadata(source: ModelSource, predictor: Predictor, batcher: DynamicBatcher, o: ServeOptions) {
  const m = source.manifest;
  return {
    model: source.label,
    source: source.kind,
    run: m.run,
    classes: m.classes,
    inputShape: m.inputShape,
    output: m.output,
    preprocessing: m.preprocessing,
    normalization: m.preprocessing.normalize,
    dataset: m.dataset,
    metrics: m.metrics,
    backend: predictor.backend,
    batching: { maxBatch: o.maxBatch, delayMs: o.batchDelayMs, ...batcher.stats },
    limits: { bodyBytes: o.bodyLimit, concurrentRequests: o.maxConcurrent },
    inputs: {
      image: `POST /predict with Content-Type ${IMAGE_TYPES.join(', ')}: the image file as the body`,
      json: 'POST /predict with Content-Type application/json: {"instances": [{"b64": "<base64 JPEG or PNG>"} or [height][width][channels] pixel values 0-255, ...]}',
    },
  };
}
