import { createServer } from 'node:net';

/**
 * Finds a TCP port that is free on `host` right now.
 *
 * The kernel picks the port (listen on 0), so two calls in a row rarely
 * collide; there is still a small window in which another process may take
 * the port before the caller binds it.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`freePort: unexpected server address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
