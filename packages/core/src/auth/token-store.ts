import { timingSafeEqual } from 'node:crypto';
import type { CallerIdentity, Role } from '../caller.js';
import { invalidArgument } from '../errors.js';
import { tokenDigest } from './token-hash.js';
import { parseTokensDocument, readTokensFile, type TokenEntry } from './tokens-file.js';

/** The environment variable holding tokens as JSON, in the tokens file's format. */
export const TOKENS_ENV = 'SWITCHYARD_TOKENS';

/** Where {@link TokenStore.load} takes tokens from; at least one must be given. */
export interface TokenSources {
  /** Path of a tokens file. */
  tokensFile?: string;
  /** Tokens as JSON, e.g. the value of SWITCHYARD_TOKENS. */
  tokensJson?: string;
}

interface StoredToken {
  name: string;
  role: Role;
  digest: Buffer;
  /** Where the entry came from, for error messages. */
  source: string;
}

/**
 * The tokens a server accepts, as sha256 digests: the store never holds a
 * token in clear, so neither a heap dump nor a log line can give one away.
 * Immutable; {@link merge} returns a new store.
 */
export class TokenStore {
  readonly #tokens: readonly StoredToken[];

  private constructor(tokens: readonly StoredToken[]) {
    this.#tokens = tokens;
  }

  /**
   * Reads a tokens file.
   * @throws SwitchyardError naming the file and the bad field.
   */
  static async fromFile(path: string): Promise<TokenStore> {
    return TokenStore.#fromEntries((await readTokensFile(path)).tokens, path);
  }

  /**
   * Parses tokens given as JSON (the tokens file's format).
   * @param source what to call the text in errors. @default 'SWITCHYARD_TOKENS'
   * @throws SwitchyardError naming the source and the bad field.
   */
  static fromJson(text: string, source = TOKENS_ENV): TokenStore {
    return TokenStore.#fromEntries(parseTokensDocument(text, source).tokens, source);
  }

  /**
   * The tokens of a file and/or JSON text, merged.
   * @throws TypeError when neither is given; SwitchyardError for bad contents or a name given twice.
   */
  static async load(sources: TokenSources): Promise<TokenStore> {
    if (sources.tokensFile === undefined && sources.tokensJson === undefined) {
      throw new TypeError('tokensFile or tokensJson is required to load tokens');
    }
    let store = new TokenStore([]);
    if (sources.tokensFile !== undefined) store = store.merge(await TokenStore.fromFile(sources.tokensFile));
    if (sources.tokensJson !== undefined) store = store.merge(TokenStore.fromJson(sources.tokensJson));
    return store;
  }

  static #fromEntries(entries: readonly TokenEntry[], source: string): TokenStore {
    return new TokenStore(entries.map((e) => ({ name: e.name, role: e.role, digest: Buffer.from(e.sha256, 'hex'), source })));
  }

  /**
   * This store's tokens and `other`'s. An entry present in both with the same
   * role and digest counts once.
   * @throws SwitchyardError INVALID_ARGUMENT when a name or a token is given twice differently.
   */
  merge(other: TokenStore): TokenStore {
    const merged = [...this.#tokens];
    for (const token of other.#tokens) {
      const sameName = merged.find((t) => t.name === token.name);
      const sameDigest = merged.find((t) => t.digest.equals(token.digest));
      if (sameName && sameName === sameDigest && sameName.role === token.role) continue;
      if (sameName) {
        throw invalidArgument(`token name '${token.name}' is defined in both ${sameName.source} and ${token.source} differently; keep one`);
      }
      if (sameDigest) {
        throw invalidArgument(`one token is listed as '${sameDigest.name}' (${sameDigest.source}) and '${token.name}' (${token.source}); keep one`);
      }
      merged.push(token);
    }
    return new TokenStore(merged);
  }

  /** How many tokens the store accepts. */
  get size(): number {
    return this.#tokens.length;
  }

  /** Names and roles, never digests: for start-up logs. */
  describe(): { name: string; role: Role }[] {
    return this.#tokens.map((t) => ({ name: t.name, role: t.role }));
  }

  /**
   * The identity a bearer token stands for, or undefined for an unknown one.
   * Compares digests in constant time and always walks every entry, so the
   * response time tells nothing about how close a guess was or which entry
   * matched.
   */
  authenticate(token: string | undefined): CallerIdentity | undefined {
    if (!token) return undefined;
    const digest = tokenDigest(token);
    let match: StoredToken | undefined;
    for (const stored of this.#tokens) {
      if (timingSafeEqual(stored.digest, digest) && match === undefined) match = stored;
    }
    return match ? { name: match.name, role: match.role, authenticated: true } : undefined;
  }
}
