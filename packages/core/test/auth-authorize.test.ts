import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import winston from 'winston';
import {
  ADMIN_SERVICE_NAME,
  ARTIFACT_SERVICE_NAME,
  generateToken,
  getCaller,
  hashToken,
  METHOD_ROLES,
  notFound,
  requiredRole,
  TokenStore,
  type Logger,
  type TokenStore as TokenStoreType,
} from '../src/index.js';
import { adminService, artifactService, clientCredentials, withAuth } from '../src/grpc.js';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const TOKENS = { viewer: generateToken(), deployer: generateToken(), admin: generateToken() };
const store = TokenStore.fromJson(
  JSON.stringify({
    tokens: [
      { name: 'vera', role: 'viewer', sha256: hashToken(TOKENS.viewer) },
      { name: 'dan', role: 'deployer', sha256: hashToken(TOKENS.deployer) },
      { name: 'ada', role: 'admin', sha256: hashToken(TOKENS.admin) },
    ],
  }),
);

function capturingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _encoding, callback) {
      records.push(info);
      callback();
    },
  });
  return { logger: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), records };
}

/** What the fake handlers saw; a refused call must leave no trace here. */
interface Seen {
  handlerCalls: string[];
  uploadMessages: number;
}

/** A ModelAdmin and ArtifactService with fake handlers behind withAuth, on a real server. */
async function startServer(t: { teardown(fn: () => void | Promise<void>): void }, authStore: TokenStoreType | null) {
  const seen: Seen = { handlerCalls: [], uploadMessages: 0 };
  const { logger, records } = capturingLogger();
  const unary = (name: string, handle: (req: Record<string, unknown>, call: object) => object) =>
    (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
      seen.handlerCalls.push(name);
      try {
        callback(null, handle(call.request, call));
      } catch (err) {
        callback((err as { toServiceError(): object }).toServiceError());
      }
    };
  const admin: grpc.UntypedServiceImplementation = {
    GetRoute: unary('GetRoute', (req) => {
      if (req['model'] !== 'known') throw notFound(`model '${String(req['model'])}' does not exist`);
      return { model: 'known', splits: [] };
    }),
    SetRoute: unary('SetRoute', (req) => ({ model: req['model'], splits: [] })),
    DeleteVersion: unary('DeleteVersion', () => ({})),
    WhoAmI: unary('WhoAmI', (_req, call) => {
      const caller = getCaller(call);
      return { name: caller.name, role: caller.role, auth_enabled: caller.authenticated };
    }),
    UploadArtifact: (call: grpc.ServerReadableStream<object, object>, callback: grpc.sendUnaryData<object>) => {
      seen.handlerCalls.push('UploadArtifact');
      call.on('data', () => (seen.uploadMessages += 1));
      call.on('end', () => callback(null, { sha256: '0'.repeat(64), size: '0', existed: false }));
    },
  };
  const artifacts: grpc.UntypedServiceImplementation = {
    FetchArtifact: (call: grpc.ServerWritableStream<object, object>) => {
      seen.handlerCalls.push('FetchArtifact');
      call.write({ size: '3', data: Buffer.from('abc') });
      call.end();
    },
  };
  const server = new grpc.Server();
  server.addService(adminService().service, withAuth(ADMIN_SERVICE_NAME, admin, { store: authStore, logger }));
  server.addService(artifactService().service, withAuth(ARTIFACT_SERVICE_NAME, artifacts, { store: authStore, logger }));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const clients: grpc.Client[] = [];
  const connect = (token?: string, service = adminService()): AnyClient => {
    const access = clientCredentials(token === undefined ? {} : { token });
    const client = new service(address, access.credentials, access.options);
    clients.push(client);
    return client as unknown as AnyClient;
  };
  t.teardown(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });
  return { address, seen, records, connect };
}

function call<Res = Record<string, unknown>>(client: AnyClient, method: string, request: object, metadata = new grpc.Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client[method] as Function).call(client, request, metadata, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

async function failure(promise: Promise<unknown>): Promise<{ code: number | undefined; details: string | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

test('every ModelAdmin and ArtifactService RPC has an explicit role; unknown ones need admin; health is open', (t) => {
  for (const [service, definition] of [
    [ADMIN_SERVICE_NAME, adminService().service],
    [ARTIFACT_SERVICE_NAME, artifactService().service],
  ] as const) {
    for (const method of Object.keys(definition)) t.true(Object.hasOwn(METHOD_ROLES[service]!, method), `${service}/${method} is listed`);
  }
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'GetRoute'), 'viewer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'getRoute'), 'viewer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'WhoAmI'), 'viewer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'UploadArtifact'), 'deployer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'SetRoute'), 'deployer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'DeleteVersion'), 'admin');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'DeleteModel'), 'admin');
  t.is(requiredRole(ARTIFACT_SERVICE_NAME, 'FetchArtifact'), 'viewer');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'SomethingNew'), 'admin');
  t.is(requiredRole(ADMIN_SERVICE_NAME, 'constructor'), 'admin');
  t.is(requiredRole('other.Service', 'Get'), 'admin');
  t.is(requiredRole('grpc.health.v1.Health', 'Check'), 'open');
});

test('a missing, unknown or malformed token is UNAUTHENTICATED and never reaches the handler', async (t) => {
  const { connect, seen, records } = await startServer(t, store);
  const expected = { code: grpc.status.UNAUTHENTICATED, details: 'missing or unknown token; pass one with --token or SWITCHYARD_TOKEN' };
  t.deepEqual(await failure(call(connect(), 'GetRoute', { model: 'known' })), expected);
  t.deepEqual(await failure(call(connect(generateToken()), 'GetRoute', { model: 'known' })), expected);
  const basic = new grpc.Metadata();
  basic.set('authorization', `Basic ${TOKENS.admin}`);
  t.deepEqual(await failure(call(connect(), 'GetRoute', { model: 'known' }, basic)), expected);
  t.deepEqual(seen.handlerCalls, []);
  const logged = JSON.stringify(records);
  t.false(logged.includes(TOKENS.admin), 'no token in the logs');
});

test('the unauthenticated answer is the same for an existing and a missing model; NOT_FOUND only once authenticated', async (t) => {
  const { connect } = await startServer(t, store);
  const anonymous = connect();
  const existing = await failure(call(anonymous, 'GetRoute', { model: 'known' }));
  const missing = await failure(call(anonymous, 'GetRoute', { model: 'no-such-model' }));
  t.deepEqual(existing, missing);
  t.is(existing.code, grpc.status.UNAUTHENTICATED);

  const viewer = connect(TOKENS.viewer);
  t.like(await call(viewer, 'GetRoute', { model: 'known' }), { model: 'known' });
  t.is((await failure(call(viewer, 'GetRoute', { model: 'no-such-model' }))).code, grpc.status.NOT_FOUND);
  // A deployer's refusal does not depend on the model either.
  const denied = await failure(call(viewer, 'SetRoute', { model: 'known' }));
  t.deepEqual(await failure(call(viewer, 'SetRoute', { model: 'no-such-model' })), denied);
});

test('roles: viewer reads, deployer changes routes, only admin deletes', async (t) => {
  const { connect, seen, records } = await startServer(t, store);
  const viewer = connect(TOKENS.viewer);
  const deployer = connect(TOKENS.deployer);
  const admin = connect(TOKENS.admin);
  t.deepEqual(await failure(call(viewer, 'SetRoute', { model: 'm' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: "token 'vera' has role viewer; SetRoute needs deployer (ask an admin for a token with that role)",
  });
  t.like(await call(deployer, 'SetRoute', { model: 'm' }), { model: 'm' });
  t.deepEqual(await failure(call(deployer, 'DeleteVersion', { model: 'm', version: 'v1' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: "token 'dan' has role deployer; DeleteVersion needs admin (ask an admin for a token with that role)",
  });
  t.deepEqual(await call(admin, 'DeleteVersion', { model: 'm', version: 'v1' }), {});
  t.deepEqual(seen.handlerCalls, ['SetRoute', 'DeleteVersion']);
  t.true(records.some((r) => r['level'] === 'warn' && r['message'] === 'call refused' && r['method'] === `${ADMIN_SERVICE_NAME}/SetRoute`));
  t.deepEqual(await call(deployer, 'WhoAmI', {}), { name: 'dan', role: 'deployer', auth_enabled: true });
});

test('a client-streaming upload is refused before its stream is read', async (t) => {
  const { connect, seen } = await startServer(t, store);
  const upload = (client: AnyClient): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const stream = (client['UploadArtifact'] as Function).call(client, (err: grpc.ServiceError | null, res: unknown) =>
        err ? reject(err) : resolve(res),
      ) as grpc.ClientWritableStream<object>;
      stream.on('error', () => undefined);
      stream.write({ header: { sha256: '', size: 3, filename: 'x' } });
      stream.write({ chunk: Buffer.from('abc') });
      stream.end();
    });
  t.is((await failure(upload(connect()))).code, grpc.status.UNAUTHENTICATED);
  t.like(await failure(upload(connect(TOKENS.viewer))), { code: grpc.status.PERMISSION_DENIED });
  t.deepEqual(seen.handlerCalls, []);
  t.is(seen.uploadMessages, 0);
  await upload(connect(TOKENS.deployer));
  t.is(seen.uploadMessages, 2);
});

test('a server-streaming FetchArtifact needs a viewer token', async (t) => {
  const { connect, seen } = await startServer(t, store);
  const fetch = (client: AnyClient): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const stream = (client['FetchArtifact'] as Function).call(client, { sha256: 'a'.repeat(64) }) as grpc.ClientReadableStream<{ data: Buffer }>;
      const parts: Buffer[] = [];
      stream.on('data', (chunk) => parts.push(chunk.data));
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(parts)));
    });
  t.is((await failure(fetch(connect(undefined, artifactService())))).code, grpc.status.UNAUTHENTICATED);
  t.deepEqual(seen.handlerCalls, []);
  t.is((await fetch(connect(TOKENS.viewer, artifactService()))).toString(), 'abc');
});

test('with the store null every call runs as anonymous admin', async (t) => {
  const { connect, seen } = await startServer(t, null);
  const client = connect();
  t.deepEqual(await call(client, 'WhoAmI', {}), { name: 'anonymous', role: 'admin', auth_enabled: false });
  t.deepEqual(await call(client, 'DeleteVersion', { model: 'm', version: 'v1' }), {});
  t.deepEqual(seen.handlerCalls, ['WhoAmI', 'DeleteVersion']);
  t.throws(() => withAuth(ADMIN_SERVICE_NAME, {}, { store: undefined as unknown as null, logger: capturingLogger().logger }), {
    instanceOf: TypeError,
    message: /store is required/,
  });
});
