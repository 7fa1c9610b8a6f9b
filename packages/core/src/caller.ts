/**
 * Who made a call, as the auth layer established it. The auth wrapper sets it
 * on the grpc-js call object before the handler runs; handlers read it to
 * record the actor in the audit log. Kept in a WeakMap so nothing leaks when
 * the call object is collected.
 */
/**
 * Each role has the rights of those before it. `node` is a viewer that may
 * also read samples documents (sample inputs can be real user data): what
 * prediction nodes and `switchyard validate` need, and no more.
 */
export const ROLES = ['viewer', 'node', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface CallerIdentity {
  /** The token's name; "anonymous" when auth is off. */
  name: string;
  role: Role;
  /** False when the server runs with auth explicitly disabled. */
  authenticated: boolean;
}

/** What handlers see when auth is off: full rights, no name. */
export const ANONYMOUS: CallerIdentity = Object.freeze({ name: 'anonymous', role: 'admin', authenticated: false });

const callers = new WeakMap<object, CallerIdentity>();

export function setCaller(call: object, identity: CallerIdentity): void {
  callers.set(call, identity);
}

/** The identity the auth layer attached to `call`, or {@link ANONYMOUS}. */
export function getCaller(call: object): CallerIdentity {
  return callers.get(call) ?? ANONYMOUS;
}

/** Whether `role` includes the rights of `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
