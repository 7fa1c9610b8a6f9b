import { ExitCode, describeFailure } from './exit-codes.js';
import { OutputGuard } from './output-format.js';
import { buildProgram } from './program.js';
import { ignoreTlsServernameWarning } from './warning-filter.js';

/**
 * Runs the CLI and returns the exit code once its output is flushed, so the
 * caller may exit at once. Every error ends here: printed as
 * `error: <message>` on stderr and mapped to the documented exit code. Output
 * that could not be written whole (the reader went away) fails the command.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  ignoreTlsServernameWarning();
  const stdout = new OutputGuard(process.stdout);
  const stderr = new OutputGuard(process.stderr);
  let code: number;
  try {
    await buildProgram().parseAsync(argv);
    code = ExitCode.OK;
  } catch (err) {
    const { message, exitCode } = describeFailure(err);
    if (message) process.stderr.write(`error: ${message}\n`);
    if (process.env.SWITCHYARD_DEBUG === '1') console.error(err);
    code = exitCode;
  }
  const lost = await stdout.flushed();
  if (lost) {
    process.stderr.write(`error: the output could not be written whole (${lost.message}); it is incomplete\n`);
    if (code === ExitCode.OK) code = ExitCode.FAILED;
  }
  await stderr.flushed();
  return code;
}
