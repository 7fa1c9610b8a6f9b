import { readFileSync } from 'node:fs';
import { usageError } from './exit-codes.js';

/** The environment variable holding a control plane's tokens document (JSON). */
export const TOKENS_ENV = 'SWITCHYARD_TOKENS';

export interface AccessFlags {
  tokensFile?: string;
  insecureNoAuth?: boolean;
}

/** What the control plane's `auth` option gets. */
export type AccessOption = { tokensFile: string } | { tokensJson: string } | { disabled: true };

/**
 * Access control is a choice the operator makes on purpose: tokens from a
 * file or SWITCHYARD_TOKENS, or --insecure-no-auth. Nothing given is a usage
 * error, so a control plane never ends up open by omission.
 */
export function accessOption(flags: AccessFlags, env: NodeJS.ProcessEnv = process.env): AccessOption {
  const fromEnv = env[TOKENS_ENV];
  const chosen = [flags.tokensFile !== undefined, Boolean(fromEnv), flags.insecureNoAuth === true].filter(Boolean).length;
  if (chosen === 0) {
    throw usageError(`choose access control: --tokens-file <path>, ${TOKENS_ENV}='<json>', or --insecure-no-auth (only on a trusted network)`);
  }
  if (chosen > 1) throw usageError(`use only one of --tokens-file, ${TOKENS_ENV} and --insecure-no-auth`);
  if (flags.insecureNoAuth) return { disabled: true };
  if (flags.tokensFile !== undefined) {
    try {
      readFileSync(flags.tokensFile);
    } catch (err) {
      throw usageError(`cannot read --tokens-file ${flags.tokensFile}: ${(err as Error).message}`);
    }
    return { tokensFile: flags.tokensFile };
  }
  return { tokensJson: fromEnv! };
}
