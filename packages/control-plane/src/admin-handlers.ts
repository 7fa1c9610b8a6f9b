import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

/** One part of the admin API: who serves which RPCs. */
export interface HandlerGroup {
  /** Named in the error when two groups claim one RPC, e.g. "retirement". */
  owner: string;
  handlers: UntypedServiceImplementation;
}

/**
 * The admin service's handlers, put together from the groups that serve
 * them. Composed explicitly rather than by object spread, where a later group
 * silently wins an RPC another group also serves: an RPC claimed twice, one
 * the service does not have, or one of the service's RPCs nobody serves is an
 * error at start, naming the RPC and the groups.
 * @throws Error on any of those.
 */
export function composeHandlers(service: ServiceDefinition, groups: readonly HandlerGroup[]): UntypedServiceImplementation {
  const owners = new Map<string, string>();
  const handlers: UntypedServiceImplementation = {};
  for (const group of groups) {
    for (const [rpc, handler] of Object.entries(group.handlers)) {
      const first = owners.get(rpc);
      if (first !== undefined) throw new Error(`admin RPC ${rpc} is served by both ${first} and ${group.owner}; one RPC has one handler`);
      if (!Object.hasOwn(service, rpc)) throw new Error(`${group.owner} serves ${rpc}, which the admin service does not define`);
      owners.set(rpc, group.owner);
      handlers[rpc] = handler;
    }
  }
  const unserved = Object.keys(service).filter((rpc) => !owners.has(rpc));
  if (unserved.length > 0) throw new Error(`admin RPCs without a handler: ${unserved.join(', ')}`);
  return handlers;
}
