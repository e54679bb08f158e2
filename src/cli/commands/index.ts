import type { Command } from 'commander';
import { registerValidate } from './validate';
import { registerInspect } from './inspect';
import { registerLs } from './ls';
import { registerShow } from './show';
import { registerDiff } from './diff';
import { registerPlot } from './plot';
import { registerSweep } from './sweep';
import { registerData } from './data';
import { registerRun } from './run';
import { registerEval } from './eval';

/** Every subcommand, in the order `pipeline --help` lists them. Add one line per command. */
export const COMMANDS: Array<(program: Command) => void> = [
  registerValidate,
  registerInspect,
  registerRun,
  registerEval,
  registerLs,
  registerShow,
  registerDiff,
  registerPlot,
  registerSweep,
  registerData,
];
