import { createServer } from 'node:net';

/** Resolves with the port the kernel picks on `host`, then releases it for the caller to bind. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return listenOnce(host, 0).then((port) => {
    if (port === undefined) throw new Error(`no free TCP port on ${host}`);
    return port;
  });
}

/** True when `port` can be bound on `host` right now. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  return (await listenOnce(host, port)) !== undefined;
}

function listenOnce(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}
