import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import {
  ControlPlaneRecordSchema,
  GrpcStatus,
  parseStored,
  unavailable,
  SwitchyardError,
  type ClientTlsOptions,
  type KeyLayout,
  type Logger,
} from '@switchyard/core';
import { artifactService, clientCredentials, type ClientCredentials } from '@switchyard/core/grpc';

/**
 * The control plane's auth messages speak to CLI users (--token); a node's
 * operator needs to know it is the node's token that was refused.
 */
function explainRefusal(err: unknown, address: string): unknown {
  const error = SwitchyardError.from(err);
  if (error.code !== GrpcStatus.UNAUTHENTICATED && error.code !== GrpcStatus.PERMISSION_DENIED) return err;
  return new SwitchyardError(
    error.code,
    `control plane ${address} refused the node's artifact fetch (${error.rawMessage}); start the node with a valid token of role viewer or above (controlPlaneToken)`,
    { cause: err },
  );
}

/** Where artifact bytes come from. */
export interface ArtifactSource {
  /** Streams the artifact's bytes. Rejects with NOT_FOUND or UNAVAILABLE. */
  fetch(sha256: string): AsyncIterable<Uint8Array>;
}

/** Options for {@link ControlPlaneArtifactSource}. */
export interface ControlPlaneArtifactSourceOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  logger: Logger;
  /** Fixed control-plane addresses; empty to discover them in etcd. */
  addresses?: string[];
  /** Deadline for one whole fetch. @default 120000 */
  timeoutMs?: number;
  /** Bearer token for control planes with auth on; a viewer token is enough. */
  token?: string;
  /** TLS towards the control planes; omit for plaintext. */
  tls?: ClientTlsOptions;
}

/**
 * Fetches artifacts from a control plane's ArtifactService. Control planes
 * are found through their registrations in etcd, so a node needs no other
 * address than etcd's; each is tried in turn.
 */
export class ControlPlaneArtifactSource implements ArtifactSource {
  private readonly clients = new Map<string, grpc.Client>();
  /** Built once, so a bad token or unreadable TLS file fails at start-up, not at the first fetch. */
  private readonly access: ClientCredentials;

  /** @throws TypeError for a malformed token or incomplete TLS options. */
  constructor(private readonly options: ControlPlaneArtifactSourceOptions) {
    this.access = clientCredentials({
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
  }

  async *fetch(sha256: string): AsyncIterable<Uint8Array> {
    const addresses = await this.addresses();
    if (addresses.length === 0) {
      throw unavailable('no control plane is registered in etcd; start one (switchyard control-plane) so nodes can fetch artifacts');
    }
    let lastError: unknown;
    for (const address of addresses) {
      let yielded = false;
      try {
        for await (const chunk of this.fetchFrom(address, sha256)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (err) {
        // Half a stream cannot be resumed elsewhere; the caller retries the whole load.
        if (yielded) throw err;
        lastError = explainRefusal(err, address);
        this.options.logger.warn('artifact fetch failed; trying the next control plane', { address, sha256, error: (err as Error).message });
      }
    }
    throw SwitchyardError.from(lastError);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async addresses(): Promise<string[]> {
    if (this.options.addresses && this.options.addresses.length > 0) return this.options.addresses;
    const values = await this.options.etcd.getAll().prefix(this.options.keys.controlPlanesPrefix()).strings();
    const out: string[] = [];
    for (const [key, raw] of Object.entries(values)) {
      const parsed = parseStored(ControlPlaneRecordSchema, raw);
      if (parsed.ok) out.push(parsed.value.address);
      else this.options.logger.error('ignoring invalid control-plane record', { key, error: parsed.error });
    }
    // Spread fetches of many nodes over the control planes.
    return out.sort(() => Math.random() - 0.5);
  }

  private async *fetchFrom(address: string, sha256: string): AsyncIterable<Uint8Array> {
    let client = this.clients.get(address);
    if (!client) {
      const Ctor = artifactService();
      client = new Ctor(address, this.access.credentials, { ...this.access.options, 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
      this.clients.set(address, client);
    }
    const deadline = Date.now() + (this.options.timeoutMs ?? 120_000);
    const call = (client as unknown as { FetchArtifact: (req: object, opts: grpc.CallOptions) => grpc.ClientReadableStream<{ data: Buffer }> }).FetchArtifact(
      { sha256 },
      { deadline },
    );
    for await (const chunk of call as AsyncIterable<{ data: Buffer }>) yield chunk.data;
  }
}
