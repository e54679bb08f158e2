import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tempRoot } from '../fixture';

/**
 * A real redis-server for a test: its own port on 127.0.0.1, its own temporary
 * folder, append-only persistence with an fsync per write (so a restart loses
 * nothing), stopped by the test. Without redis-server the queue tests skip,
 * except in CI (CI=true), where they fail: CI installs it.
 */

export const REDIS_BIN =
  ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((f) => fs.existsSync(f)) ?? whichRedis();

function whichRedis(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** `test(..., { skip: redisMissing() })`: a reason to skip, or false. Throws in CI. */
export function redisMissing(): string | false {
  if (REDIS_BIN) return false;
  if (process.env.CI === 'true')
    throw new Error('redis-server is not installed, and CI must run the queue tests (apt-get install -y redis-server)');
  return 'redis-server is not installed';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private proc: ChildProcess | undefined;
  readonly dir = tempRoot('pipeline-redis-');
  constructor(
    readonly port: number,
    readonly password?: string,
  ) {}

  static async start(password?: string): Promise<RedisServer> {
    const r = new RedisServer(await freePort(), password);
    await r.start();
    return r;
  }

  url(withPassword = true): string {
    return this.password && withPassword
      ? `redis://:${this.password}@127.0.0.1:${this.port}`
      : `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      path.join(this.dir, 'redis.log'),
    ];
    if (this.password) args.push('--requirepass', this.password);
    this.proc = spawn(REDIS_BIN!, args, { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    for (;;) {
      if (await this.answers()) return;
      if (Date.now() > until)
        throw new Error(
          `redis-server did not start on port ${this.port}: ${fs.readFileSync(path.join(this.dir, 'redis.log'), 'utf8').slice(-500)}`,
        );
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  /** Stops the server as its operator would (SIGTERM: it syncs the append-only file and exits). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
    this.proc = undefined;
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.once('connect', () => {
        s.write(this.password ? `AUTH ${this.password}\r\nPING\r\n` : 'PING\r\n');
      });
      s.on('data', (b) => {
        if (b.toString().includes('PONG')) {
          s.destroy();
          resolve(true);
        }
      });
      s.once('error', () => resolve(false));
      setTimeout(() => (s.destroy(), resolve(false)), 500);
    });
  }
}
