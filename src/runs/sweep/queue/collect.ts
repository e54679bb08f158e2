import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../../errors';
import { META_JSON, ORIGIN_JSON } from '../../../run-format/names';
import { readMeta } from '../../../run-format/read';
import { writeJson, writeMetaJson } from '../../../run-format/write';
import { listExperimentNames, listRuns, listVersions, readJsonIfExists, type Run } from '../../read';
import { SWEEPS_DIR, sweepFile, saveSweep, type SweepState } from '../state';

/**
 * `pipeline collect SRC...`: brings runs made on other machines (each worker's
 * runs folder, copied here with rsync or read from shared storage) into this
 * runs root, so ls, show, diff, plot and a queued sweep's `NAME/sweeps/N` see
 * them together. Version numbers are per machine (two workers both have
 * tiny/1), so each run gets the next free version here; `origin.json` in the
 * copy says where it came from (host, folder, version there), and a run already
 * collected is not copied twice. Runs still marked running are left for later.
 * The copy is made in a temporary folder and renamed into place: a crash never
 * leaves half a run. Queued sweeps in this root then point their trials at the
 * local copies.
 */

export interface Origin {
  host: string | null;
  dir: string;
  name: string;
  version: number;
  startedAt: string | null;
  collectedAt: string;
}

export interface CollectReport {
  copied: Array<{ from: string; to: string }>;
  skipped: Array<{ from: string; why: string }>;
  sweepsUpdated: string[];
}

const originKey = (o: { host?: string | null; name: string; version: number; startedAt?: string | null }) =>
  `${o.host ?? ''}\u0000${o.name}\u0000${o.version}\u0000${o.startedAt ?? ''}`;

export function collectRuns(sources: string[], root: string): CollectReport {
  const report: CollectReport = { copied: [], skipped: [], sweepsUpdated: [] };
  const known = new Map<string, string>();
  for (const run of listRuns(root)) {
    const o = readJsonIfExists<Origin>(path.join(run.dir, ORIGIN_JSON));
    if (o) known.set(originKey(o), run.dir);
  }
  for (const src of sources) {
    const from = path.resolve(src);
    if (!fs.existsSync(from)) throw new UsageError(`collect: no folder ${src}`);
    if (from === root) throw new UsageError(`collect: ${src} is the runs root itself`);
    for (const run of listRuns(from)) {
      const meta = run.meta();
      if (!meta) {
        report.skipped.push({ from: run.dir, why: `no ${META_JSON}` });
        continue;
      }
      const origin: Origin = {
        host: meta.host ?? null,
        dir: run.dir,
        name: run.name,
        version: run.version,
        startedAt: meta.startedAt ?? null,
        collectedAt: new Date().toISOString(),
      };
      const k = originKey(origin);
      if (known.has(k)) {
        report.skipped.push({ from: run.dir, why: `already collected as ${path.relative(root, known.get(k)!)}` });
        continue;
      }
      if (meta.status === 'running') {
        report.skipped.push({ from: run.dir, why: 'still running (or crashed): collect it when it has ended' });
        continue;
      }
      const to = copyRun(run, root, origin);
      known.set(k, to);
      report.copied.push({ from: run.dir, to });
    }
  }
  report.sweepsUpdated = repointSweeps(root);
  return report;
}

/** Copies a run to the next free version of its experiment here (claimed by mkdir, filled by rename). */
function copyRun(run: Run, root: string, origin: Origin): string {
  const parent = path.join(root, run.name);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.collect-'));
  try {
    fs.cpSync(run.dir, tmp, { recursive: true });
    for (let v = (listVersions(root, run.name).at(-1) ?? 0) + 1; ; v++) {
      const dest = path.join(parent, String(v));
      try {
        fs.mkdirSync(dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      writeMetaJson(tmp, { ...readMeta(tmp), version: v, runDir: dest });
      writeJson(path.join(tmp, ORIGIN_JSON), origin);
      fs.renameSync(tmp, dest); // replaces the empty folder that claimed the version
      return dest;
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Queued sweeps' trials that ran elsewhere: point them at the local copy of their run. */
function repointSweeps(root: string): string[] {
  const byOrigin = new Map<string, Run>();
  for (const run of listRuns(root)) {
    const o = readJsonIfExists<Origin>(path.join(run.dir, ORIGIN_JSON));
    if (o) byOrigin.set(`${o.host ?? ''}\u0000${o.dir}`, run);
  }
  const updated: string[] = [];
  for (const name of listExperimentNames(root)) {
    const dir = path.join(root, name, SWEEPS_DIR);
    if (!fs.existsSync(dir)) continue;
    for (const n of fs.readdirSync(dir)) {
      const state = readJsonIfExists<SweepState & { trials: Array<{ host?: string | null }> }>(
        sweepFile(path.join(dir, n)),
      );
      if (!state || !('queue' in state)) continue;
      state.dir = path.join(dir, n);
      let changed = false;
      for (const t of state.trials) {
        const local = t.runDir ? byOrigin.get(`${t.host ?? ''}\u0000${t.runDir}`) : undefined;
        if (!local || t.runDir === local.dir) continue;
        t.run = local.id;
        t.runDir = local.dir;
        changed = true;
      }
      if (changed) {
        saveSweep(state);
        updated.push(state.id);
      }
    }
  }
  return updated;
}
