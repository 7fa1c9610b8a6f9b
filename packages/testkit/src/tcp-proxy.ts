import { createServer, connect, type Server, type Socket } from 'node:net';

/** When a {@link TcpProxy} holds back the server's answers. */
export interface AnswerDelay {
  /** How long each held chunk of the server's answer waits. */
  delayMs: number;
  /** Answers that start within this long after the trigger are held; later ones only wait their turn behind them. */
  windowMs: number;
  /** Starts the window when a chunk the client sends matches (e.g. contains a record being written). */
  trigger: (clientChunk: Buffer) => boolean;
}

/**
 * A loopback TCP proxy that a test can cut and restore, to simulate a
 * network partition between one process and a server (etcd) without
 * touching the server, and that can hold back the server's answers, to
 * simulate a server that applies a request but answers after the client
 * gave up. Bytes keep their order: an answer never overtakes a held one.
 * (A copy of the e2e helper, with the delay added, so every package's tests
 * can use it.)
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private delay: AnswerDelay | undefined;
  /** End of the current window (ms since epoch); 0 when no window is open. */
  private windowEnd = 0;
  private triggered = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.cut) return void client.destroy();
      proxy.pipe(client, connect(targetPort, targetHost));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy did not bind');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many times the delay's trigger matched. */
  get triggers(): number {
    return this.triggered;
  }

  /** Holds back answers as `delay` says from now on; undefined stops matching (held chunks still go out in time). */
  delayAnswers(delay: AnswerDelay | undefined): void {
    this.delay = delay;
    this.windowEnd = 0;
  }

  /** Drops every open connection and refuses new ones. */
  pause(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  resume(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.pause();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, upstream: Socket): void {
    this.sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      const delay = this.delay;
      if (delay && this.windowEnd === 0 && delay.trigger(chunk)) {
        this.triggered++;
        this.windowEnd = Date.now() + delay.windowMs;
      }
      upstream.write(chunk);
    });
    // Answers leave in order, each no earlier than its own release time.
    let lastRelease = 0;
    upstream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      const held = this.delay !== undefined && now < this.windowEnd;
      const release = Math.max(lastRelease, held ? now + this.delay!.delayMs : now);
      lastRelease = release;
      if (release <= now) client.write(chunk);
      else setTimeout(() => !client.destroyed && client.write(chunk), release - now).unref();
    });
  }
}
