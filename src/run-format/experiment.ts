import * as path from 'node:path';
import { loadExperimentText, type LoadedExperiment } from '../config/load';
import { readOverrides } from './read';
import { CONFIG_YAML } from './names';
import * as fs from 'node:fs';

/** A run's experiment as recorded: its config.yaml with its overrides.json, plus `extra` --set values. */
export function loadRunExperiment(runDir: string, extra: readonly string[] = []): LoadedExperiment {
  const configFile = path.join(runDir, CONFIG_YAML);
  const overrides = readOverrides(runDir);
  return loadExperimentText(configFile, fs.readFileSync(configFile, 'utf8'), { overrides: [...overrides, ...extra] });
}
