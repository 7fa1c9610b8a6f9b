import { invalidArgument } from './errors.js';

/** Splits "host:port" (IPv6 hosts in brackets); port 0 means any free port. */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!match) throw invalidArgument(`'${address}' is not host:port (for example 127.0.0.1:8001)`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}
