import { invalidArgument } from '@switchyard/core';

/** Page sizes of a List RPC: what 0 means, and the most one page may hold. */
export interface PageLimits {
  default: number;
  max: number;
}

/**
 * A request's page_size: 0 (unset in proto3) means the default, and a larger
 * one than the maximum is cut to it rather than refused, as AIP-158 has it.
 * @throws INVALID_ARGUMENT for a negative or fractional size (only possible without gRPC).
 */
export function resolvePageSize(requested: number, limits: PageLimits): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw invalidArgument(`page_size ${requested} is not a page size; pass 0 for ${limits.default}, or up to ${limits.max}`);
  }
  if (requested === 0) return limits.default;
  return Math.min(requested, limits.max);
}

/** An opaque token that resumes a listing after `position` (the last name or id of a page). */
export function encodePageToken(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

/**
 * The position a page token resumes after; undefined for an empty token (the
 * first page).
 * @throws INVALID_ARGUMENT when the token is not one `method` handed out.
 */
export function decodePageToken(method: string, token: string, isPosition: (position: string) => boolean): string | undefined {
  if (token === '') return undefined;
  const position = Buffer.from(token, 'base64url').toString('utf8');
  // Node decodes base64 leniently; only a token that round-trips is one we made.
  if (encodePageToken(position) !== token || !isPosition(position)) {
    throw invalidArgument(`page_token '${token}' is not a token ${method} returned; pass its next_page_token unchanged, or an empty token for the first page`);
  }
  return position;
}

/**
 * The most one page of a listing holds, estimated as JSON: well inside gRPC's
 * 4 MiB default message limit at the client, whatever the records carry.
 */
export const PAGE_BYTES = 1024 * 1024;

/**
 * The items of one page: at most `pageSize` of them, and no more past
 * `budget` bytes (each item's size as JSON), but always at least one so a
 * listing moves on. `more` says whether any item was left out.
 */
export function fillPage<T>(items: Iterable<T>, pageSize: number, budget = PAGE_BYTES): { page: T[]; more: boolean } {
  const page: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (page.length === pageSize) return { page, more: true };
    const size = JSON.stringify(item).length;
    if (page.length > 0 && bytes + size > budget) return { page, more: true };
    bytes += size;
    page.push(item);
  }
  return { page, more: false };
}
