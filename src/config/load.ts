import * as crypto from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { ConfigError, type Diagnostic } from '../errors';
import { ExperimentSchema, SUPPORTED_VERSIONS, type Experiment } from '../schema/experiment';
import { applyDefaults } from './defaults';
import { diagnosticAt, sortDiagnostics } from './diagnostics';
import { applyOverrides, parseOverride, type Override } from './overrides';
import { parseExperimentText, readSource, type Parsed } from './parse';
import { formatPath, parsePath, type PathSeg } from './paths';
import type { SourceMap } from './source-map';
import { describeValue, schemaDiagnostics } from './schema-errors';
import { isPlainObject, type JsonSchema } from './schema-walk';
import { inferShapes, semanticDiagnostics, type ShapeReport } from './semantic';
import { describeOrigin, expandBlocks, relocate } from './blocks';
import { loadValidator } from './validator';
import type { DeepReadonly } from '../util/deep-readonly';

/** The frozen, complete experiment: all that builders and the training loop ever see. */
export type ResolvedExperiment = DeepReadonly<Experiment>;

export interface LoadedExperiment {
  experiment: ResolvedExperiment;
  file: string;
  /** The file's text exactly as read (minus a BOM), for the run's config.yaml. */
  text: string;
  overrides: string[];
  /** sha256 of the canonical JSON of the resolved experiment: equal configs, equal hashes. */
  hash: string;
  shapes: ShapeReport;
  /** 1-based line where each layer starts in the file (a block's layer: where the block is used), for `inspect`. */
  layerLines: number[];
  /** Positions in the file, for problems found after loading (against the data, a warm-start source). */
  map: SourceMap;
}

export interface LoadOptions {
  overrides?: readonly string[];
}

const SCHEMA = ExperimentSchema as unknown as JsonSchema;
let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  // Loaded (built by `npm run build`, or compiled) lazily, once per process: `validate FILE...` reuses it for every file.
  validator ??= loadValidator(ExperimentSchema);
  return validator;
}

/** What kind of registry entry lives at a path, for messages like "unknown layer type". */
function kindOf(path: PathSeg[]): string {
  const p = formatPath(path);
  if (/^model\.layers\[\d+\]$/.test(p)) return 'layer';
  if (p === 'training.optimizer') return 'optimizer';
  if (p === 'training.schedule') return 'schedule';
  return 'entry';
}

/**
 * Loads an experiment in fixed stages: read, parse (keeping the YAML
 * document for positions), version check, overrides, defaults, schema,
 * semantic rules (shapes), then freeze. Every stage reports all of its
 * problems at once, sorted by position, as one ConfigError.
 */
export function loadExperimentFile(file: string, opts: LoadOptions = {}): LoadedExperiment {
  const text = readSource(file);
  return loadExperimentText(file, text, opts);
}

export function loadExperimentText(file: string, text: string, opts: LoadOptions = {}): LoadedExperiment {
  const overrides: Override[] = (opts.overrides ?? []).map(parseOverride);
  const parsed = parseExperimentText(file, text);
  const data = structuredClone(parsed.data);
  checkTopLevel(parsed, data);

  const overrideProblems = applyOverrides(SCHEMA, data, overrides);
  if (overrideProblems.length) throw new ConfigError(overrideProblems);

  // Blocks expand into plain layers before anything looks at the layers; origins say where each was written.
  const origins = isPlainObject(data) ? expandBlocks(data, parsed.map) : undefined;
  const located = (problems: Diagnostic[]) =>
    origins ? problems.map((d) => relocate(d, origins, parsed.map)) : problems;

  applyDefaults(SCHEMA, data);

  const validate = getValidator();
  if (!validate(data)) {
    const problems = schemaDiagnostics(validate.errors ?? [], parsed.map, kindOf);
    problems.push(...shapeProblemsDespite(data, problems, parsed.map));
    throw new ConfigError(sortDiagnostics(attributeOverrides(located(problems), overrides, parsed.map)));
  }
  const exp = data as Experiment;
  const layerPath = (i: number): PathSeg[] => (origins ? (origins[i].use ?? origins[i].def) : ['model', 'layers', i]);
  const describe = origins ? (i: number) => describeOrigin(origins[i], parsed.map, ['model', 'layers', i]) : undefined;
  const { problems, shapes } = semanticDiagnostics(exp, parsed.map, describe);
  if (problems.length)
    throw new ConfigError(sortDiagnostics(attributeOverrides(located(problems), overrides, parsed.map)));

  return {
    experiment: deepFreeze(exp),
    file,
    text,
    overrides: overrides.map((o) => o.raw),
    hash: hashExperiment(exp),
    shapes,
    layerLines: exp.model.layers.map((_, i) => parsed.map.locate(layerPath(i)).line),
    map: parsed.map,
  };
}

/**
 * The shape rules again with what the data says (an image folder's classes and image size,
 * unknown to the file): problems at their lines, or --set, as a ConfigError. Run before a run
 * folder exists, and by `validate --data`.
 */
export function checkAgainstData(
  loaded: LoadedExperiment,
  data: { shape: readonly number[]; classes: readonly string[]; where: string },
): ShapeReport {
  const e = loaded.experiment as Experiment;
  const [h, w, c] = data.shape;
  const dataset = {
    ...e.dataset,
    imageSize: [h, w],
    channels: c as 1 | 3,
    classes: [...data.classes],
  } as Experiment['dataset'];
  const problems: Diagnostic[] = [];
  const shapes = inferShapes({ ...e, dataset }, loaded.map, problems);
  if (problems.length === 0) return shapes;
  const found = `(${data.where} has ${data.classes.length} classes of ${h}x${w}x${c} images)`;
  const located = problems.map((d) => ({ ...d, message: `${d.message} ${found}` }));
  const overrides = loaded.overrides.map(parseOverride);
  throw new ConfigError(sortDiagnostics(attributeOverrides(located, overrides, loaded.map)));
}

/**
 * Shape problems found alongside schema errors, so one pass reports both (an unknown
 * optimizer key does not hide a kernel larger than its input). Shapes depend on the
 * dataset and the layers: inferred when the schema found nothing wrong in the dataset,
 * and up to the first layer it did find wrong.
 */
function shapeProblemsDespite(data: unknown, schemaProblems: readonly Diagnostic[], map: SourceMap): Diagnostic[] {
  const layerOf = (p: string) => /^model\.layers\[(\d+)\]/.exec(p)?.[1];
  const blocks = (p: string) =>
    p === '' ||
    p === 'dataset' ||
    p.startsWith('dataset.') ||
    p === 'model' ||
    p === 'model.layers' ||
    (p.startsWith('model.') && !p.startsWith('model.layers[') && !p.startsWith('model.init'));
  if (schemaProblems.some((d) => blocks(d.path))) return [];
  const bad = schemaProblems
    .map((d) => layerOf(d.path))
    .filter((i): i is string => i !== undefined)
    .map(Number);
  const exp = data as Experiment;
  // A graph cut short may name layers past the cut (inputs, outputs): its shapes wait for a valid file.
  if (
    exp.model?.outputs ||
    exp.model?.layers?.some((l) => typeof l === 'object' && l !== null && ('inputs' in l || 'block' in l))
  )
    return [];
  const upTo = bad.length ? Math.min(...bad) : exp.model.layers.length;
  if (upTo === 0) return [];
  const found: Diagnostic[] = [];
  try {
    const report = inferShapes(
      { ...exp, model: { ...exp.model, layers: exp.model.layers.slice(0, upTo) } },
      map,
      found,
    );
    // All of a truncated model's layers inferred: the only possible problem is its output, which is not the model's.
    if (upTo < exp.model.layers.length && report.layers.length === upTo) return [];
  } catch {
    return []; // something the schema let through that shape rules cannot read: the schema errors come first
  }
  return found;
}

/** What callers that only need the experiment use (the data, run and sweep commands). */
export async function loadExperiment(file: string, opts: LoadOptions = {}): Promise<ResolvedExperiment> {
  return loadExperimentFile(file, opts).experiment;
}

/** Problems that would make every later message confusing: not a mapping, unknown version. */
function checkTopLevel(parsed: Parsed, data: unknown): void {
  const { map, file } = parsed;
  if (data === null || data === undefined) {
    throw new ConfigError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'the file is empty; an experiment is a mapping with version, name, dataset, model and training',
      },
    ]);
  }
  if (!isPlainObject(data)) {
    throw new ConfigError([
      diagnosticAt(map, [], `expected a mapping (key: value lines) at the top level, found ${describeValue(data)}`),
    ]);
  }
  const v = data.version;
  if (v !== undefined && !(SUPPORTED_VERSIONS as readonly unknown[]).includes(v)) {
    throw new ConfigError([
      diagnosticAt(
        map,
        ['version'],
        `unsupported version ${describeValue(v)}: this release of pipeline reads version ${SUPPORTED_VERSIONS.join(', ')}`,
      ),
    ]);
  }
}

/**
 * A problem at a path set by --set is reported against that --set, not a line
 * of the file. So is a problem inside a section that only exists because a
 * --set created it (`training.earlyStopping.patience=3` creates earlyStopping,
 * whose defaults may then be wrong): the file has no line for it.
 */
function attributeOverrides(problems: Diagnostic[], overrides: readonly Override[], map: SourceMap): Diagnostic[] {
  return problems.map((d) => {
    const segs = parsePath(d.path) ?? [];
    const firstMissing = segs.findIndex((_, i) => !map.has(segs.slice(0, i + 1)));
    const created = firstMissing === -1 ? undefined : formatPath(segs.slice(0, firstMissing + 1));
    const under = (p: string, prefix: string) =>
      p === prefix || p.startsWith(prefix + '.') || p.startsWith(prefix + '[');
    const o = [...overrides].reverse().find((x) => {
      const p = formatPath(x.path);
      return under(d.path, p) || (created !== undefined && under(p, created));
    });
    return o ? { ...d, file: `--set ${o.raw}`, line: 0, column: 0, excerpt: undefined } : d;
  });
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashExperiment(exp: unknown): string {
  return crypto.createHash('sha256').update(canonicalJson(exp)).digest('hex');
}

function deepFreeze<T>(v: T): DeepReadonly<T> {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v as DeepReadonly<T>;
}
