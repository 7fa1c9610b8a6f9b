import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ROLES, type Role } from '../caller.js';
import { ID_PATTERN } from '../etcd-keys.js';
import { alreadyExists, failedPrecondition, invalidArgument } from '../errors.js';
import { generateToken, hashToken } from './token-hash.js';

/**
 * The tokens file (and SWITCHYARD_TOKENS) holds names, roles and sha256
 * digests only: a copy of it grants nothing.
 *
 * `{"tokens":[{"name":"alice","role":"deployer","sha256":"<hex>"}]}`
 */
const TokenEntrySchema = z
  .object({
    name: z.string().regex(ID_PATTERN, "must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'"),
    role: z.enum(ROLES),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits: the sha256 of the token (printf %s "$TOKEN" | sha256sum)'),
  })
  .strict();

const TokensDocumentSchema = z.object({ tokens: z.array(TokenEntrySchema) }).strict();

/** One entry of the tokens file. */
export type TokenEntry = z.infer<typeof TokenEntrySchema>;

/** The whole tokens file. */
export type TokensDocument = z.infer<typeof TokensDocumentSchema>;

const FORMAT_HINT = 'expected {"tokens":[{"name":"alice","role":"viewer|node|deployer|admin","sha256":"<hex sha256 of the token>"}]}';

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';
}

/**
 * Parses and checks a tokens document. `source` (a file path or
 * "SWITCHYARD_TOKENS") goes into every error.
 * @throws SwitchyardError INVALID_ARGUMENT naming the source and the bad field.
 */
export function parseTokensDocument(text: string, source: string): TokensDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the text around the error, which could be a token
    // pasted by mistake; keep only where it went wrong.
    const position = /position \d+/.exec((err as Error).message)?.[0];
    throw invalidArgument(`${source}: not valid JSON${position ? ` (at ${position})` : ''}; ${FORMAT_HINT}`);
  }
  const result = TokensDocumentSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? fieldPath(issue.path) : '(top level)';
    throw invalidArgument(`${source}: ${where}: ${issue?.message ?? 'invalid'}; ${FORMAT_HINT}`);
  }
  const seen = new Map<string, string>();
  for (const [i, entry] of result.data.tokens.entries()) {
    if (seen.has(entry.name)) throw invalidArgument(`${source}: tokens[${i}].name: '${entry.name}' is used twice; give every token its own name`);
    const other = [...seen].find(([, sha]) => sha === entry.sha256)?.[0];
    if (other !== undefined) {
      throw invalidArgument(`${source}: tokens[${i}].sha256: the same token is listed as '${other}' and '${entry.name}'; generate a separate token for each`);
    }
    seen.set(entry.name, entry.sha256);
  }
  return result.data;
}

/** The file's text, or undefined when it does not exist. */
async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw failedPrecondition(`cannot read tokens file ${path} (${code ?? (err as Error).message}); check its permissions`);
  }
}

/**
 * Reads and checks a tokens file.
 * @throws SwitchyardError FAILED_PRECONDITION when it is missing or unreadable, INVALID_ARGUMENT when it is malformed.
 */
export async function readTokensFile(path: string): Promise<TokensDocument> {
  const text = await readIfExists(path);
  if (text === undefined) throw failedPrecondition(`tokens file ${path} does not exist; create it by adding a token, or fix the path`);
  return parseTokensDocument(text, path);
}

/** Options for {@link addToken}. */
export interface AddTokenOptions {
  /** Who the token is for; shown in logs and audit records. */
  name: string;
  role: Role;
}

/**
 * Generates a token for `name`, adds its digest to the tokens file (created
 * with mode 0600 if missing) and returns the token: the only time it is
 * ever seen in clear. The file is replaced atomically, so a server reading it
 * never sees half a file; two concurrent adds to one file may lose one.
 * @throws SwitchyardError ALREADY_EXISTS when `name` is taken, INVALID_ARGUMENT for a bad name or role.
 */
export async function addToken(file: string, options: AddTokenOptions): Promise<string> {
  if (!ID_PATTERN.test(options.name)) {
    throw invalidArgument(`token name '${options.name}' must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'`);
  }
  if (!(ROLES as readonly string[]).includes(options.role)) {
    throw invalidArgument(`role '${String(options.role)}' is not one of ${ROLES.join(', ')}`);
  }
  const text = await readIfExists(file);
  const document: TokensDocument = text === undefined ? { tokens: [] } : parseTokensDocument(text, file);
  if (document.tokens.some((t) => t.name === options.name)) {
    throw alreadyExists(`tokens file ${file} already has a token named '${options.name}'; pick another name or remove that entry first`);
  }
  const token = generateToken();
  document.tokens.push({ name: options.name, role: options.role, sha256: hashToken(token) });
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw failedPrecondition(`cannot write tokens file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return token;
}
