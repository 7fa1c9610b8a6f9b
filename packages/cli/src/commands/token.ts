import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import { addToken, GrpcStatus, hashToken, ROLES, SwitchyardError, type Role } from '@switchyard/core';
import { DEFAULT_DATA_DIR } from '../cluster-file.js';
import { shownPath } from '../control-plane-address.js';
import { usageError } from '../exit-codes.js';
import { tokensFilePath } from '../local-token.js';
import { printJson, printLine, type OutputFormat } from '../output-format.js';

interface AddFlags {
  name: string;
  role: Role;
  tokensFile?: string;
  dataDir: string;
  output: OutputFormat;
}

const outputOption = (): Option =>
  new Option('-o, --output <format>', 'table for people, json for scripts').choices(['table', 'json']).default('table');

/** `switchyard token add|hash`: local helpers for tokens files; they make no call. */
export function tokenCommand(): Command {
  const token = new Command('token').description('create bearer tokens and hash them for tokens files (local; no control plane needed)');
  token.addCommand(
    new Command('add')
      .description('generate a token, add its sha256 to a tokens file (created 0600) and print the token, this once only')
      .requiredOption('--name <name>', 'who the token is for; shown in logs and history (a-z, 0-9, . _ -)')
      .addOption(new Option('--role <role>', 'viewer reads, node also reads samples documents (for prediction nodes and switchyard validate), deployer also changes what is served, admin also deletes').choices(ROLES).makeOptionMandatory())
      .option('--tokens-file <path>', "the tokens file (default: <data-dir>/tokens.json, the one 'switchyard up' uses)")
      .option('--data-dir <dir>', "where 'switchyard up' keeps its files", DEFAULT_DATA_DIR)
      .addOption(outputOption())
      .action(async (flags: AddFlags) => {
        const file = flags.tokensFile ?? tokensFilePath(flags.dataDir);
        // Tokens may be added before the first `switchyard up` creates the data dir.
        await mkdir(dirname(file), { recursive: true });
        let secret: string;
        try {
          secret = await addToken(file, { name: flags.name, role: flags.role });
        } catch (err) {
          // A bad name is the command line's fault; a taken name or an unwritable file is not.
          if (err instanceof SwitchyardError && err.code === GrpcStatus.INVALID_ARGUMENT && !err.rawMessage.startsWith(file)) throw usageError(err.rawMessage);
          throw err;
        }
        if (flags.output === 'json') {
          printJson({ name: flags.name, role: flags.role, tokens_file: file, token: secret });
          return;
        }
        // The token alone on stdout, so TOKEN=$(switchyard token add ...) works; the rest is for people.
        printLine(secret);
        process.stderr.write(
          `added token '${flags.name}' (${flags.role}) to ${shownPath(file)}; it is shown only this once.\n` +
            'A control plane reads its tokens file when it starts: restart it (or switchyard up) to accept the new token.\n',
        );
      }),
  );
  token.addCommand(
    new Command('hash')
      .description('print the sha256 a tokens file stores for a token (same as printf %s "$TOKEN" | sha256sum)')
      .argument('<token>', "the token; '-' reads it from stdin, keeping it out of shell history")
      .addOption(outputOption())
      .action(async (value: string, flags: { output: OutputFormat }) => {
        const secret = value === '-' ? (await readStdin()).trim() : value;
        const sha256 = hashToken(secret);
        if (flags.output === 'json') printJson({ sha256 });
        else printLine(sha256);
      }),
  );
  return token;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}
