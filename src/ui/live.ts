import * as fs from 'node:fs';
import * as path from 'node:path';
import { META_JSON, METRICS_JSONL, SUMMARY_JSON } from '../run-format/names';
import { listExperimentNames, listVersions, readJsonIfExists } from '../runs/read';
import { sweepIds } from './sweeps';

/**
 * Change detection for live updates, by polling file stats (size and mtime): it works
 * on every filesystem, and a run appends whole lines, so a changed size is a new epoch.
 * A full scan of every run (new folders, anything edited) runs every `fullMs`; between
 * them only the active runs (written `running`, or changed in the last minute) and
 * running sweeps are checked, every `fastMs`, so a new epoch line is seen within that.
 * Nothing is scanned while no page is listening.
 */

export interface Changes {
  runs: string[];
  sweeps: string[];
}

/** meta.json first: its status decides whether the run is active. */
const RUN_FILES = [META_JSON, METRICS_JSONL, SUMMARY_JSON];
const ACTIVE_FOR_MS = 60_000;

function signature(files: string[]): string {
  return files
    .map((f) => {
      try {
        const st = fs.statSync(f);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        // Deliberate: a timer must not throw; a file gone or unreadable is a change, read when the page asks.
        return '-';
      }
    })
    .join('|');
}

export class RunsWatcher {
  private readonly sigs = new Map<string, string>();
  /** Run or sweep id -> when it last changed (0: written `running`, so always active). */
  private readonly active = new Map<string, number>();
  private readonly listeners = new Set<(c: Changes) => void>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly root: string,
    private readonly opts = { fastMs: 400, fullMs: 3000 },
  ) {}

  /** Calls `fn` with each batch of changes; returns the unsubscribe function. */
  subscribe(fn: (c: Changes) => void): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private start(): void {
    this.sigs.clear();
    this.active.clear();
    this.scan(this.allIds(), false);
    this.timers.push(setInterval(() => this.scan(this.allIds(), true), this.opts.fullMs));
    this.timers.push(setInterval(() => this.scan(this.activeIds(), true), this.opts.fastMs));
    for (const t of this.timers) t.unref();
  }

  private allIds(): string[] {
    const ids: string[] = [];
    for (const name of listExperimentNames(this.root))
      for (const v of listVersions(this.root, name)) ids.push(`${name}/${v}`);
    return [...ids, ...sweepIds(this.root)];
  }

  private activeIds(): string[] {
    const now = Date.now();
    return [...this.active].filter(([, at]) => at === 0 || now - at < ACTIVE_FOR_MS).map(([id]) => id);
  }

  private files(id: string): string[] {
    const dir = path.join(this.root, ...id.split('/'));
    return id.includes('/sweeps/') ? [path.join(dir, 'sweep.json')] : RUN_FILES.map((f) => path.join(dir, f));
  }

  private scan(ids: string[], report: boolean): void {
    const changes: Changes = { runs: [], sweeps: [] };
    for (const id of ids) {
      const files = this.files(id);
      const sig = signature(files);
      if (this.sigs.get(id) === sig) continue;
      this.sigs.set(id, sig);
      const status = readJsonIfExists<{ status?: string }>(files[0])?.status;
      if (status === 'running') this.active.set(id, 0);
      else if (report) this.active.set(id, Date.now());
      else this.active.delete(id);
      if (!report) continue;
      (id.includes('/sweeps/') ? changes.sweeps : changes.runs).push(id);
    }
    if (changes.runs.length + changes.sweeps.length === 0) return;
    for (const fn of this.listeners) fn(changes);
  }
}
