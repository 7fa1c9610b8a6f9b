import { describeFailure } from './exit-codes.js';
import { buildProgram } from './program.js';
import { ignoreTlsServernameWarning } from './warning-filter.js';

/**
 * Runs the CLI and returns the exit code. Every error ends here: printed as
 * `error: <message>` on stderr and mapped to the documented exit code.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  ignoreTlsServernameWarning();
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    const { message, exitCode } = describeFailure(err);
    if (message) process.stderr.write(`error: ${message}\n`);
    if (process.env.SWITCHYARD_DEBUG === '1') console.error(err);
    return exitCode;
  }
}
