import { Command } from 'commander';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { printJson, printLine } from '../output-format.js';

export function whoamiCommand(): Command {
  return addClientOptions(new Command('whoami'))
    .description("who the control plane takes you for: your token's name and role")
    .action(async (flags: ClientFlags, command: Command) => {
      const me = await withAdmin(command, (admin) => admin.whoAmI());
      if (flags.output === 'json') printJson(me);
      else if (!me.auth_enabled) printLine(`${me.name} (${me.role}): access control is off on this control plane`);
      else printLine(`${me.name} (${me.role})`);
    });
}
