import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_SERVICE_NAME, METHOD_ROLES, roleAllows, splitHostPort, type Logger, type Role } from '@switchyard/core';
import { AdminCallError, CONSOLE_METHODS, ConsoleAdminCaller } from './console-admin-caller.js';
import { ConsoleAssets, consoleAssetsDir } from './console-assets.js';
import { NodeMetricsSampler } from './console-node-metrics.js';
import { clearedSessionCookie, sameOrigin, sessionCookie, sessionIdOf, setSecurityHeaders } from './console-security.js';
import { ConsoleSessions, csrfMatches, type ConsoleSession } from './console-sessions.js';

/** Largest JSON body the console accepts. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Header the page sends its session's CSRF value in. */
export const CSRF_HEADER = 'x-switchyard-csrf';

/** HTTP status for each gRPC status the admin API answers with. */
const HTTP_STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Options for {@link ConsoleServer.start}. */
export interface ConsoleServerOptions {
  /** host:port to serve the console on; port 0 picks a free one. */
  listen: string;
  /** The control plane's bound gRPC address; the console calls its ModelAdmin API there. */
  adminAddress: string;
  logger: Logger;
  /** The control plane's id, shown on the overview. */
  controlPlaneId: string;
  /** Whether the control plane serving the console holds the election now. */
  isLeader: () => boolean;
  /** Folder of the built console. @default the installed @switchyard/console's dist/public */
  assetsDir?: string;
}

/** A request the console refuses, with the HTTP status and a message for the page. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the page learns about its session: never the token. */
function describeSession(session: ConsoleSession): object {
  const roles = METHOD_ROLES[ADMIN_SERVICE_NAME] ?? {};
  const methods: Record<string, { allowed: boolean; needs: Role }> = {};
  for (const method of CONSOLE_METHODS) {
    const needs = roles[method] ?? 'admin';
    methods[method] = { allowed: roleAllows(session.role, needs), needs };
  }
  return { name: session.name, role: session.role, authEnabled: session.authEnabled, csrf: session.csrf, methods };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  // A cross-site form can send only form or text bodies without a preflight; JSON is for our own page.
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'INVALID_ARGUMENT', 'send a JSON body (content-type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'INVALID_ARGUMENT', 'request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, 'INVALID_ARGUMENT', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The web console's HTTP server: the built page, and a JSON surface of the
 * admin API for it. Every call is made on the control plane's own ModelAdmin
 * API with the signed-in caller's token, so the admin API's checks decide
 * what each person may see and do.
 */
export class ConsoleServer {
  readonly #server: Server;
  readonly #admin: ConsoleAdminCaller;
  readonly #assets: ConsoleAssets;
  readonly #sessions = new ConsoleSessions();
  readonly #metrics = new NodeMetricsSampler();
  readonly #logger: Logger;
  readonly #controlPlaneId: string;
  readonly #isLeader: () => boolean;
  /** host:port the console is bound to. */
  address = '';

  private constructor(options: ConsoleServerOptions) {
    this.#admin = new ConsoleAdminCaller(options.adminAddress);
    this.#assets = new ConsoleAssets(options.assetsDir ?? consoleAssetsDir());
    this.#logger = options.logger;
    this.#controlPlaneId = options.controlPlaneId;
    this.#isLeader = options.isLeader;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /**
   * Starts serving.
   * @throws Error when the assets are not built or `listen` cannot be bound.
   */
  static async start(options: ConsoleServerOptions): Promise<ConsoleServer> {
    const server = new ConsoleServer(options);
    const { host, port } = splitHostPort(options.listen);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(port, host, () => resolve());
    });
    const bound = server.#server.address() as AddressInfo;
    server.address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
    return server;
  }

  /** The URL to open, e.g. http://127.0.0.1:7080/. */
  get url(): string {
    return `http://${this.address}/`;
  }

  async stop(): Promise<void> {
    this.#admin.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    try {
      const path = new URL(req.url ?? '/', 'http://console').pathname;
      if (path.startsWith('/api/')) await this.#api(req, res, path);
      else await this.#static(req, res, path);
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.status, { code: err.code, message: err.message });
      else if (err instanceof AdminCallError) sendJson(res, HTTP_STATUS[err.code] ?? 500, { code: err.code, message: err.message });
      else {
        this.#logger.warn('console request failed', { url: req.url, error: (err as Error).message });
        if (!res.headersSent) sendJson(res, 500, { code: 'INTERNAL', message: (err as Error).message });
        else res.end();
      }
    }
  }

  async #static(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'INVALID_ARGUMENT', 'only GET here');
    const name = path === '/' ? 'index.html' : path.startsWith('/assets/') ? path.slice('/assets/'.length) : undefined;
    const asset = name === undefined ? undefined : await this.#assets.get(name);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': name === 'index.html' ? 'no-cache' : 'max-age=300' });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  async #api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!sameOrigin(req)) throw new HttpError(403, 'PERMISSION_DENIED', 'cross-site request refused');
    if (path === '/api/session') {
      if (req.method === 'POST') return this.#signIn(req, res);
      const session = this.#session(req, req.method !== 'GET');
      if (req.method === 'GET') return sendJson(res, 200, describeSession(session));
      if (req.method === 'DELETE') {
        this.#sessions.delete(session.id);
        res.setHeader('set-cookie', clearedSessionCookie(false));
        return sendJson(res, 200, {});
      }
      throw new HttpError(405, 'INVALID_ARGUMENT', 'GET, POST or DELETE');
    }
    if (req.method !== 'POST') throw new HttpError(405, 'INVALID_ARGUMENT', 'POST a JSON request');
    const session = this.#session(req, true);
    const body = await readJson(req);
    if (path === '/api/node-rates') return sendJson(res, 200, await this.#nodeRates(session));
    if (path === '/api/console-info') return sendJson(res, 200, { controlPlaneId: this.#controlPlaneId, leader: this.#isLeader() });
    const method = /^\/api\/admin\/([A-Za-z]+)$/.exec(path)?.[1];
    if (method === undefined || !CONSOLE_METHODS.has(method)) throw new HttpError(404, 'NOT_FOUND', `no such console API: ${path}`);
    const answer = await this.#admin.call(method, body, session.token);
    sendJson(res, 200, answer);
  }

  /** The caller's session; with `csrf`, the page must also show it knows the session's CSRF value. */
  #session(req: IncomingMessage, csrf: boolean): ConsoleSession {
    const session = this.#sessions.get(sessionIdOf(req));
    if (!session) throw new HttpError(401, 'UNAUTHENTICATED', 'not signed in, or the session ended; sign in with your token');
    const header = req.headers[CSRF_HEADER];
    if (csrf && !csrfMatches(session, typeof header === 'string' ? header : undefined)) {
      throw new HttpError(403, 'PERMISSION_DENIED', `missing or wrong ${CSRF_HEADER} header`);
    }
    return session;
  }

  /** Checks the token with WhoAmI on the admin API, then opens a session for it. */
  async #signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    let who: { name: string; role: Role; auth_enabled: boolean };
    try {
      who = await this.#admin.call('WhoAmI', {}, token);
    } catch (err) {
      if (err instanceof AdminCallError && err.code === 'UNAUTHENTICATED') {
        this.#logger.info('console sign-in refused: unknown token');
        throw new HttpError(401, 'UNAUTHENTICATED', 'that token is not known to this cluster; check it and try again');
      }
      throw err;
    }
    const session = this.#sessions.create({ token: who.auth_enabled ? token : '', name: who.name, role: who.role, authEnabled: who.auth_enabled });
    this.#logger.info('console sign-in', { name: who.name, role: who.role });
    res.setHeader('set-cookie', sessionCookie(session.id, false));
    sendJson(res, 200, describeSession(session));
  }

  /** Per-version rates from the nodes' metrics endpoints, listed by the admin API for this caller. */
  async #nodeRates(session: ConsoleSession): Promise<object> {
    const status = await this.#admin.call<{ nodes: { node: { node_id: string; metrics_address: string } }[] }>('GetClusterStatus', { summary_only: true }, session.token);
    const nodes = new Map(status.nodes.filter((n) => n.node.metrics_address).map((n) => [n.node.node_id, n.node.metrics_address]));
    return this.#metrics.rates(nodes);
  }
}
