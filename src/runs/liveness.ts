import * as fs from 'node:fs';
import * as os from 'node:os';

/**
 * Is the process that wrote a `running` meta.json still alive? Only answerable
 * on the host that ran it. On Linux we also catch pid reuse: a live process
 * with that pid that started after the run did is someone else.
 */
export type Liveness = 'alive' | 'dead' | 'unknown';

export function processLiveness(
  pid: number | undefined,
  host: string | undefined,
  startedAt: string | undefined,
): Liveness {
  if (host !== undefined && host !== os.hostname()) return 'unknown';
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return 'unknown';
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EPERM: the process exists but belongs to another user.
    return code === 'ESRCH' ? 'dead' : 'alive';
  }
  const proc = linuxProcessStat(pid);
  // A zombie has ended: only its exit status waits for a parent to collect it, which an
  // orphan's new parent (init in a container, say) may never do.
  if (proc?.zombie) return 'dead';
  const started = startedAt ? Date.parse(startedAt) : NaN;
  const procStart = proc?.startMs;
  // The run records startedAt after its process started, so a process that began
  // clearly later (2 s of slack for clock granularity) reuses the pid.
  if (procStart !== undefined && Number.isFinite(started) && procStart > started + 2000) return 'dead';
  return 'alive';
}

let bootTimeMs: number | undefined | null = null;
const clockTicks = 100; // USER_HZ is 100 on every Linux Node runs on in practice.

function linuxBootTimeMs(): number | undefined {
  if (bootTimeMs !== null) return bootTimeMs;
  try {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    bootTimeMs = m ? Number(m[1]) * 1000 : undefined;
  } catch {
    // Deliberate: no /proc/stat (not Linux, or hidden): liveness cannot check pid reuse, nothing more.
    bootTimeMs = undefined;
  }
  return bootTimeMs;
}

/** From /proc/PID/stat: whether the process has ended (zombie) and when it started. */
function linuxProcessStat(pid: number): { zombie: boolean; startMs?: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // Deliberate: the process ended meanwhile, or /proc hides it (not Linux): nothing more is known.
    return undefined;
  }
  // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const zombie = rest[0] === 'Z' || rest[0] === 'X'; // field 3, the state
  const boot = linuxBootTimeMs();
  const startTicks = Number(rest[19]); // field 22 overall; rest starts at field 3
  if (boot === undefined || !Number.isFinite(startTicks)) return { zombie };
  return { zombie, startMs: boot + (startTicks / clockTicks) * 1000 };
}
