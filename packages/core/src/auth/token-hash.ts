import { createHash, randomBytes } from 'node:crypto';

/** Every generated token starts with this, so a leaked one is easy to recognise (and to grep for). */
export const TOKEN_PREFIX = 'sy_';

/** Random bytes per generated token: 256 bits, far beyond guessing. */
const TOKEN_BYTES = 32;

/** A new bearer token: `sy_` and 32 random bytes in base64url. Show it once; store only {@link hashToken}. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The hex sha256 of a token, as the tokens file stores it (same as `printf %s "$TOKEN" | sha256sum`). */
export function hashToken(token: string): string {
  return tokenDigest(token).toString('hex');
}

/** The raw 32-byte sha256 of a token; what the store compares. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
