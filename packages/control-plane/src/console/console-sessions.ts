import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '@switchyard/core';

/** A signed-in browser tab: the token stays here, the browser holds only an opaque id in an HttpOnly cookie. */
export interface ConsoleSession {
  readonly id: string;
  /** The bearer token the admin API is called with; '' when it runs without auth. */
  readonly token: string;
  /** Sent back by the page on every API call (header), so another site cannot make calls with the cookie. */
  readonly csrf: string;
  readonly name: string;
  readonly role: Role;
  readonly authEnabled: boolean;
  lastSeen: number;
}

/** Options for {@link ConsoleSessions}. */
export interface ConsoleSessionsOptions {
  /** A session unused this long is forgotten. @default 8 h */
  idleMs?: number;
  /** At most this many sessions; the least recently used goes first. @default 1000 */
  max?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Sessions in memory: each control plane keeps its own, so a restart signs
 * everyone out (the browser's cookie ends with the tab anyway).
 */
export class ConsoleSessions {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #idleMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: ConsoleSessionsOptions = {}) {
    this.#idleMs = options.idleMs ?? 8 * 3600_000;
    this.#max = options.max ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  create(fields: Pick<ConsoleSession, 'token' | 'name' | 'role' | 'authEnabled'>): ConsoleSession {
    if (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const session: ConsoleSession = { ...fields, id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), lastSeen: this.#now() };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, refreshed; undefined when unknown or idle too long. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (this.#now() - session.lastSeen > this.#idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = this.#now();
    // Re-insert so iteration order stays least recently used first.
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }
}

/** Constant-time comparison of a CSRF header with the session's value. */
export function csrfMatches(session: ConsoleSession, header: string | undefined): boolean {
  if (header === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}
