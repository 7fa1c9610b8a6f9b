import test from 'ava';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, Agent } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import { silentLogger } from '@switchyard/core/logging';
import { generateTestCertificates, removeDir } from '@switchyard/testkit';
import { RestServer } from '../src/rest-server.js';

// The REST server's own duties, with stand-in handlers: TLS like the gRPC
// server's, and a drain that answers 503 to new requests while running ones finish.

type Callback = (err: unknown, value: unknown) => void;

function handlers(infer: (cb: Callback) => void): grpc.UntypedServiceImplementation {
  return {
    ServerLive: (_call: unknown, cb: Callback) => cb(null, { live: true }),
    ModelInfer: (_call: unknown, cb: Callback) => infer(cb),
  } as unknown as grpc.UntypedServiceImplementation;
}

const response = { model_name: 'm', model_version: 'v1', id: '', outputs: [{ name: 'y', datatype: 'INT32', shape: ['1'] }], raw_output_contents: [Buffer.from([7, 0, 0, 0])] };
const inferBody = JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [1] }] });

test('TLS: served with the gRPC server certificate; mutual TLS refuses a client without one', async (t) => {
  const certs = await generateTestCertificates();
  t.teardown(() => removeDir(certs.dir));
  const server = new RestServer({
    listen: '127.0.0.1:0',
    handlers: handlers((cb) => cb(null, response)),
    maxBodyBytes: 1 << 20,
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, clientCaFile: certs.caFile },
    shutdownDeadlineMs: 1000,
    logger: silentLogger(),
  });
  await server.start();
  t.teardown(() => server.stop());
  const [host, port] = server.address.split(':');
  const get = (withClientCert: boolean) =>
    new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        {
          host,
          port: Number(port),
          path: '/v2/health/live',
          ca: readFileSync(certs.caFile),
          ...(withClientCert ? { cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) } : {}),
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
  t.is(await get(true), '{"live":true}');
  await t.throwsAsync(get(false));
});

test('drain: a running request finishes; a new one on an open connection gets 503 or finds it closed', async (t) => {
  const waiting: (() => void)[] = [];
  const releaseAll = () => waiting.splice(0).forEach((f) => f());
  const server = new RestServer({
    listen: '127.0.0.1:0',
    handlers: handlers((cb) => waiting.push(() => cb(null, response))),
    maxBodyBytes: 1 << 20,
    shutdownDeadlineMs: 5000,
    logger: silentLogger(),
  });
  await server.start();
  const [host, port] = server.address.split(':');
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  t.teardown(() => agent.destroy());
  const post = () =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest({ host, port: Number(port), path: '/v2/models/m/infer', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(inferBody);
    });
  const running = post();
  while (waiting.length < 1) await new Promise((r) => setTimeout(r, 10));
  const stopped = server.stop();
  const refused = await post().catch((err: Error) => ({ status: -1, text: err.message }));
  releaseAll();
  t.is((await running).status, 200);
  await stopped;
  t.true(refused.status === 503 || refused.status === -1, JSON.stringify(refused));
  if (refused.status === 503) t.regex(refused.text, /draining/);
});
