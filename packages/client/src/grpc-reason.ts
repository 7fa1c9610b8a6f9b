import type { ServiceError } from '@grpc/grpc-js';

/**
 * The useful part of a connection failure. grpc-js reports e.g. "No connection
 * established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1.
 * Resolution note: "; people need only "connect ECONNREFUSED 127.0.0.1:1".
 */
export function grpcReason(err: ServiceError): string {
  const details = err.details || err.message;
  const last = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/s.exec(details);
  return last?.[1]?.trim() || details;
}
