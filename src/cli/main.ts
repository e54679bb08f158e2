import { Command, CommanderError } from 'commander';
import { EXIT } from '../errors';
import { report } from './boundary';
import { surviveClosedOutput } from './closed-pipes';
import { commandsFor } from './commands';
import { PIPELINE_VERSION } from '../util/version';

/**
 * The CLI only parses arguments and prints. Each command lives in
 * src/cli/commands/<name>.ts and calls modules that tests call directly.
 */
export function buildProgram(argv: readonly string[] = process.argv): Command {
  const program = new Command('pipeline')
    .description('Declarative deep-learning experiments on TensorFlow.js')
    .version(PIPELINE_VERSION)
    .showHelpAfterError('(run `pipeline --help` for usage)')
    .exitOverride();
  for (const register of commandsFor(argv)) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  surviveClosedOutput();
  const program = buildProgram(argv);
  let code: number;
  try {
    await program.parseAsync(argv);
    code = process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit 0; everything else commander rejects is usage.
      code = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else {
      code = report(err);
    }
  }
  process.exitCode = code;
}
