import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { splitHostPort, unavailable } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';

/** Serves a Prometheus registry at GET /metrics; a {@link NodeComponent} whose start binds. */
export class MetricsServer implements NodeComponent {
  readonly name = 'metrics-server';
  readonly server: Server;
  private bound: string | undefined;

  constructor(
    registry: Registry,
    private readonly listen: string,
  ) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found; metrics are at /metrics\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  }

  /** host:port bound; undefined before start. */
  get address(): string | undefined {
    return this.bound;
  }

  /** @throws SwitchyardError UNAVAILABLE when `listen` cannot be bound (port taken, no such address). */
  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.listen);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(port, host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw unavailable(`the metrics server could not listen on ${this.listen} (${(err as Error).message}); choose another address or port`, err);
    }
    this.bound = `${host}:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Serves a Prometheus registry at GET /metrics. Returns the bound server. */
export async function startMetricsServer(registry: Registry, listen: string): Promise<{ server: Server; address: string }> {
  const metrics = new MetricsServer(registry, listen);
  await metrics.start();
  return { server: metrics.server, address: metrics.address! };
}
