import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every subcommand, in the order `pipeline --help` lists them, loaded on
 * demand: `pipeline ls` must not pay for TensorFlow.js, nor `validate` for
 * the training loop. Add one line per command.
 */
export const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Register]> = [
  ['validate', () => require('./validate').registerValidate],
  ['inspect', () => require('./inspect').registerInspect],
  ['data', () => require('./data').registerData],
  ['run', () => require('./run').registerRun],
  ['eval', () => require('./eval').registerEval],
  ['ls', () => require('./ls').registerLs],
  ['show', () => require('./show').registerShow],
  ['diff', () => require('./diff').registerDiff],
  ['plot', () => require('./plot').registerPlot],
  ['sweep', () => require('./sweep').registerSweep],
  ['worker', () => require('./worker').registerWorker],
  ['collect', () => require('./collect').registerCollect],
];

/** The commands to register for these arguments: just the one named, or all (for help and errors). */
export function commandsFor(argv: readonly string[]): Register[] {
  const named = COMMANDS.find(([name]) => name === argv[2]);
  return (named ? [named] : COMMANDS).map(([, load]) => load());
}
