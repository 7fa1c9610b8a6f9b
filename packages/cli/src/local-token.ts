import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateToken, hashToken, parseTokensDocument, type TokensDocument } from '@switchyard/core';

/** The tokens file `switchyard up` starts its control plane with (names, roles and sha256 digests only). */
export const TOKENS_FILE = 'tokens.json';
/** The local admin token in clear, for the client commands run next to `up`. */
export const TOKEN_FILE = 'token';
/** The name of the token `up` creates. */
export const LOCAL_ADMIN_NAME = 'local-admin';

export function tokensFilePath(dataDir: string): string {
  return join(dataDir, TOKENS_FILE);
}

export function tokenFilePath(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/** The token in <data-dir>/token, or undefined when there is none. */
export function readLocalToken(dataDir: string): string | undefined {
  try {
    return readFileSync(tokenFilePath(dataDir), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes a file readable by its owner only, atomically (a reader never sees half of it). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    // A fresh file, so the mode applies even when `path` exists with looser permissions.
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** What {@link ensureLocalAdminToken} found or made. */
export interface LocalAdminToken {
  token: string;
  tokensFile: string;
  tokenFile: string;
  /** False when the existing token file still matched the tokens file. */
  created: boolean;
}

/**
 * Makes sure `<dataDir>/tokens.json` lists an admin token named
 * `local-admin` whose clear text is in `<dataDir>/token` (both mode 0600).
 * Reuses them when they still match; otherwise replaces only the
 * `local-admin` entry, keeping tokens added with `switchyard token add`.
 * @throws SwitchyardError INVALID_ARGUMENT when tokens.json exists but is malformed.
 */
export async function ensureLocalAdminToken(dataDir: string): Promise<LocalAdminToken> {
  await mkdir(dataDir, { recursive: true });
  const tokensFile = tokensFilePath(dataDir);
  const tokenFile = tokenFilePath(dataDir);
  let document: TokensDocument = { tokens: [] };
  const text = await readFile(tokensFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text !== undefined) document = parseTokensDocument(text, tokensFile);
  const existing = readLocalToken(dataDir);
  if (existing !== undefined) {
    const digest = hashToken(existing);
    if (document.tokens.some((t) => t.name === LOCAL_ADMIN_NAME && t.role === 'admin' && t.sha256 === digest)) {
      return { token: existing, tokensFile, tokenFile, created: false };
    }
  }
  const token = generateToken();
  const others = document.tokens.filter((t) => t.name !== LOCAL_ADMIN_NAME);
  const updated: TokensDocument = { tokens: [...others, { name: LOCAL_ADMIN_NAME, role: 'admin', sha256: hashToken(token) }] };
  await writePrivateFile(tokensFile, `${JSON.stringify(updated, null, 2)}\n`);
  await writePrivateFile(tokenFile, `${token}\n`);
  return { token, tokensFile, tokenFile, created: true };
}
