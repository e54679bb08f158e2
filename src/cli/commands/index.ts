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
  ['predict', () => require('./predict').registerPredict],
  ['serve', () => require('./serve').registerServe],
  ['export', () => require('./export').registerExport],
  ['ui', () => require('./ui').registerUi],
  ['worker', () => require('./worker').registerWorker],
  ['collect', () => require('./collect').registerCollect],
];

/** The commands to register for these arguments: just the one named, or all (for help and errors). */
export function commandsFor(argv: readonly string[]): Register[] {
  // `--version` needs no command: loading them all (TensorFlow.js with `run`) would take a second or two.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) return [];
  const named = COMMANDS.find(([name]) => name === argv[2]);
  return (named ? [named] : COMMANDS).map(([, load]) => load());
}
