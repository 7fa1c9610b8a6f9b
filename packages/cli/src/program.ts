import { Command } from 'commander';
import { BUILD_VERSION } from '@switchyard/core';
import { controlPlaneCommand } from './commands/control-plane.js';
import { deployCommand } from './commands/deploy.js';
import { historyCommand } from './commands/history.js';
import { modelsCommand } from './commands/models.js';
import { nodeCommand } from './commands/node.js';
import { predictCommand } from './commands/predict.js';
import { routeCommand } from './commands/route.js';
import { statusCommand } from './commands/status.js';
import { tokenCommand } from './commands/token.js';
import { upCommand } from './commands/up.js';
import { versionsCommand } from './commands/versions.js';
import { whoamiCommand } from './commands/whoami.js';
import { retireCommand, unretireCommand } from './commands/retire.js';
import { rolloutCommand } from './commands/rollout.js';
import { shadowCommand } from './commands/shadow.js';
import { validateCommand } from './commands/validate.js';

const HELP_AFTER_ERROR = '(add --help for usage)';

/** Errors are thrown, not exited on, all the way down, so main() alone picks exit codes. */
function throwing(command: Command): Command {
  command.exitOverride().showHelpAfterError(HELP_AFTER_ERROR);
  for (const sub of command.commands) throwing(sub);
  return command;
}

/** The `switchyard` command tree; docs/cli.md is generated from it (generate-docs.ts). */
export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('Switchyard: serve ONNX models over KServe v2 from a cluster coordinated by etcd')
    .version(BUILD_VERSION, '-V, --version', 'print the build version')
    // Subcommands have their own --version (of a model); without this the program's would swallow it.
    .enablePositionalOptions();
  const commands = [
    upCommand(),
    deployCommand(),
    predictCommand(),
    statusCommand(),
    modelsCommand(),
    versionsCommand(),
    routeCommand(),
    retireCommand(),
    unretireCommand(),
    rolloutCommand(),
    shadowCommand(),
    validateCommand(),
    historyCommand(),
    whoamiCommand(),
    tokenCommand(),
    controlPlaneCommand(),
    nodeCommand(),
  ];
  for (const command of commands) program.addCommand(command);
  return throwing(program);
}
