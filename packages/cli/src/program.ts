import { Command } from 'commander';
import { BUILD_VERSION } from '@switchyard/core';
import { controlPlaneCommand } from './commands/control-plane.js';
import { deployCommand } from './commands/deploy.js';
import { nodeCommand } from './commands/node.js';
import { predictCommand } from './commands/predict.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';

/** The `switchyard` command tree. Errors are thrown, not exited on, so main() alone picks exit codes. */
export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('Switchyard: serve ONNX models over KServe v2 from a cluster coordinated by etcd')
    .version(BUILD_VERSION, '-V, --version', 'print the build version')
    // Subcommands have their own --version (of a model); without this the program's would swallow it.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)');
  for (const command of [upCommand(), deployCommand(), predictCommand(), statusCommand(), controlPlaneCommand(), nodeCommand()]) {
    program.addCommand(command.exitOverride().showHelpAfterError('(add --help for usage)'));
  }
  return program.exitOverride();
}
