import * as grpc from '@grpc/grpc-js';
import { ADMIN_SERVICE_NAME, METHOD_ROLES } from '@switchyard/core';
import { adminService } from '@switchyard/core/grpc';

/** How long one admin call made for the console may take. */
const CALL_DEADLINE_MS = 15_000;

/** Admin RPCs the console's JSON surface forwards: every unary method (UploadArtifact streams, so it is left to the CLI). */
export const CONSOLE_METHODS: ReadonlySet<string> = new Set(Object.keys(METHOD_ROLES[ADMIN_SERVICE_NAME] ?? {}).filter((m) => m !== 'UploadArtifact'));

type UnaryMethod<Res> = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: Res) => void,
) => void;

/** A failed admin call as the console reports it: the gRPC status name and the admin API's own message. */
export class AdminCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The loopback address to dial for a server bound to `address`: a wildcard host is not dialable everywhere. */
export function loopbackAddress(address: string): string {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '[::]' || host === '::') return `[::1]:${port}`;
  return address;
}

/**
 * Calls the control plane's own ModelAdmin API over loopback with a caller's
 * bearer token, so the admin API's own checks authorise everything the
 * console does, exactly as for the CLI.
 */
export class ConsoleAdminCaller {
  readonly #client: grpc.Client;

  constructor(address: string) {
    const Admin = adminService();
    this.#client = new Admin(loopbackAddress(address), grpc.credentials.createInsecure());
  }

  /**
   * One unary admin RPC by its proto name.
   * @param token the caller's bearer token; empty when the control plane runs without auth.
   * @throws AdminCallError with the gRPC status name and message.
   */
  call<Res = unknown>(method: string, request: object, token: string): Promise<Res> {
    if (!CONSOLE_METHODS.has(method)) return Promise.reject(new AdminCallError('UNIMPLEMENTED', `${method} is not an admin method the console forwards`));
    const metadata = new grpc.Metadata();
    if (token !== '') metadata.set('authorization', `Bearer ${token}`);
    const fn = (this.#client as unknown as Record<string, UnaryMethod<Res>>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(this.#client, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (err, res) => {
        if (err) reject(new AdminCallError(grpc.status[err.code] ?? 'UNKNOWN', err.details || err.message));
        else resolve(res as Res);
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}
