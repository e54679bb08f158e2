import type { RedisOptions } from 'ioredis';
import { UsageError } from '../../../errors';

/**
 * The queue address: `redis://[user:password@]host:port[/db]` or `rediss://`
 * (TLS). The password is a secret: it is kept out of everything this program
 * writes or shows (logs, sweep.json, run folders, its children's command lines
 * and environment). `display` is the address with the password replaced by `***`.
 */

export interface QueueAddress {
  /** Safe to print and record: no password. */
  display: string;
  connection: RedisOptions;
}

export const QUEUE_ENV = 'PIPELINE_QUEUE';

export function parseQueueUrl(raw: string, where = '--queue'): QueueAddress {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Deliberate: new URL throws only for text that is no URL, which is what this says.
    throw new UsageError(
      `${where}: "${redactUrl(raw)}" is not a URL; expected redis://[user:password@]host:port[/db] or rediss://...`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`${where}: expected a redis:// or rediss:// address, got ${url.protocol}//...`);
  }
  if (!url.hostname) throw new UsageError(`${where}: the address names no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0)
    throw new UsageError(`${where}: the database number must be a whole number, got "${dbText}"`);
  const connection: RedisOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
    // BullMQ's workers need commands to wait across a reconnect rather than fail.
    maxRetriesPerRequest: null,
    // Reconnect for ever, backing off to one attempt a second.
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
  return { display: redactUrl(raw), connection };
}

/** The address with any password replaced by `***` (also for text that is not a valid URL). */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, cred: string) => {
    const colon = cred.indexOf(':');
    return colon === -1 ? `${scheme}${cred}@` : `${scheme}${cred.slice(0, colon)}:***@`;
  });
}

/** The queue address from --queue, else $PIPELINE_QUEUE; undefined when neither is set. */
export function queueFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): QueueAddress | undefined {
  if (flag !== undefined) return parseQueueUrl(flag, '--queue');
  const v = env[QUEUE_ENV];
  return v ? parseQueueUrl(v, `$${QUEUE_ENV}`) : undefined;
}

/** The environment for processes this one starts: without the queue address (and its password). */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out[QUEUE_ENV];
  return out;
}

/**
 * Rewrites this process's title (what `ps` shows) without the password, for a queue
 * address given on the command line. The environment ($PIPELINE_QUEUE) is the safer way:
 * `ps` does not show it, and this process passes it to no child.
 */
export function hideQueueFromPs(argv: readonly string[] = process.argv): void {
  const args = argv.slice(2);
  if (!args.some((a) => redactUrl(a) !== a)) return;
  try {
    process.title = ['pipeline', ...args.map(redactUrl)].join(' ');
  } catch {
    // Deliberate: a platform that cannot set the title has no ps line to hide the password from.
  }
}
