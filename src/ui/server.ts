import * as path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { PipelineError } from '../errors';
import { describeOsError } from '../os-errors';
import { comparePayload, runPayload, runsPayload } from './api';
import { resolveServedFile } from './files';
import { Forbidden, httpStatusOf } from './http-errors';
import { RunsWatcher } from './live';
import { sweepPayload, sweepsPayload } from './sweeps';

/**
 * The dashboard's HTTP server: the page and its scripts (all local), a read-only JSON
 * API over the runs folder, the folder's files, and a server-sent event stream of changes.
 */

export interface UiServerOptions {
  /** Absolute runs root. */
  root: string;
  /** The address it will listen on: requests naming another host are refused when it is a loopback one. */
  host: string;
  watch?: { fastMs: number; fullMs: number };
}

/** The page's own files (not compiled: plain modules the browser loads as they are). */
export const WEB_DIR = path.resolve(__dirname, '../../../src/ui/web');

/** The charting library's browser builds, from the installed packages. */
const VENDOR: Record<string, string> = {
  'vega.min.js': path.join(path.dirname(require.resolve('vega')), 'vega.min.js'),
  'vega-lite.min.js': path.join(path.dirname(require.resolve('vega-lite')), 'vega-lite.min.js'),
  'vega-embed.min.js': path.join(path.dirname(require.resolve('vega-embed')), 'vega-embed.min.js'),
};

/**
 * Scripts only from this server; charts are drawn by vega's expression interpreter, so no
 * eval. Styles may be inline because vega-embed sets them on its elements.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Files from the runs folder are data, never a page: an SVG or HTML among them runs nothing. */
const FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox";

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]', '::1'];

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function createUiServer(opts: UiServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const watcher = new RunsWatcher(opts.root, opts.watch);
  app.addHook('onClose', async () => watcher.stop());

  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return reply
        .code(405)
        .header('allow', 'GET, HEAD')
        .send({ error: 'the dashboard is read-only: only GET and HEAD' });
    // A loopback server answers only to loopback names, so a web page elsewhere cannot reach it by DNS rebinding.
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (isLoopback(opts.host) && !isLoopback(hostName))
      throw new Forbidden(`unexpected Host "${req.headers.host ?? ''}"`);
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('content-security-policy', req.url.startsWith('/files/') ? FILE_CSP : CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
  });
  app.setErrorHandler((error, _req, reply) => {
    const err = error as Error;
    const status =
      err instanceof PipelineError ? httpStatusOf(err) : ((err as { statusCode?: number }).statusCode ?? 500);
    // A runs folder made unreadable (or replaced by a file) while serving is the user's to fix, not a bug.
    const os = describeOsError(err);
    reply.code(status).send({
      error: err instanceof PipelineError || status < 500 ? err.message : (os ?? `internal error: ${err.message}`),
    });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no such page: ${req.method} ${req.url}` }));

  app.register(fastifyStatic, { root: WEB_DIR, prefix: '/assets/', index: false, dotfiles: 'deny' });
  app.get('/', (_req, reply) => reply.sendFile('index.html', WEB_DIR));
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());
  app.get<{ Params: { file: string } }>('/vendor/:file', (req, reply) => {
    const file = VENDOR[req.params.file];
    if (!file) return reply.code(404).send({ error: `no vendor file ${req.params.file}` });
    return reply.sendFile(path.basename(file), path.dirname(file));
  });
  registerApi(app, opts.root);
  app.get('/files/*', (req, reply) => {
    const raw = req.raw.url!.slice('/files/'.length).replace(/[?#].*$/, '');
    const file = resolveServedFile(opts.root, raw);
    return reply.sendFile(file.relative, file.realRoot, { dotfiles: 'deny' });
  });
  app.get('/api/events', (req, reply) => streamChanges(req, reply, watcher));
  return app;
}

function registerApi(app: FastifyInstance, root: string): void {
  app.get('/api/runs', async () => runsPayload(root));
  app.get<{ Params: { name: string; version: string } }>('/api/runs/:name/:version', async (req) =>
    runPayload(root, req.params.name, req.params.version),
  );
  app.get<{ Querystring: { run?: string | string[] } }>('/api/compare', async (req) => {
    const ids = [req.query.run ?? []].flat();
    if (ids.length === 0) return { runs: [], metrics: [], points: [], diffs: [] };
    return comparePayload(root, ids);
  });
  app.get('/api/sweeps', async () => sweepsPayload(root));
  app.get<{ Params: { name: string; n: string } }>('/api/sweeps/:name/sweeps/:n', async (req) =>
    sweepPayload(root, req.params.name, req.params.n),
  );
}

/** Server-sent events: one `changes` event per batch of changed runs and sweeps. */
function streamChanges(req: FastifyRequest, reply: FastifyReply, watcher: RunsWatcher): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CSP,
  });
  res.write('retry: 1000\n\n');
  const unsubscribe = watcher.subscribe((changes) => res.write(`event: changes\ndata: ${JSON.stringify(changes)}\n\n`));
  // A comment now and then keeps proxies and idle timeouts from closing the stream.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.raw.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}
