import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { generateToken, hashToken } from '@switchyard/core';
import { adminService, clientCredentials, type ClientCredentialsOptions } from '@switchyard/core/grpc';
import { generateTestCertificates, removeDir, type TestCertificates } from '@switchyard/testkit';
import { ControlPlane } from '../src/index.js';
import { freshKeys, startControlPlane, unary, useEtcd, type AnyClient } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

let certs: TestCertificates | undefined;
test.before(async () => {
  certs = await generateTestCertificates();
});
test.after.always(async () => {
  if (certs) await removeDir(certs.dir);
});
const pki = (): TestCertificates => {
  if (!certs) throw new Error('certificates were not generated');
  return certs;
};

const TOKEN = generateToken();
const TOKENS_JSON = JSON.stringify({ tokens: [{ name: 'ops', role: 'viewer', sha256: hashToken(TOKEN) }] });

/** A short deadline: a refused handshake shows up as UNAVAILABLE once it passes. */
function whoAmI(t: ExecutionContext, address: string, access: ClientCredentialsOptions): Promise<Record<string, unknown>> {
  const { credentials, options } = clientCredentials(access);
  const client = new (adminService())(address, credentials, options) as unknown as AnyClient;
  t.teardown(() => client.close());
  return new Promise((resolve, reject) => {
    (client['WhoAmI'] as Function).call(client, {}, { deadline: Date.now() + 3000 }, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
      err ? reject(err) : resolve(res),
    );
  });
}

test('with TLS on, a client trusting the CA gets through (token as call credentials); plaintext and untrusting clients do not', async (t) => {
  const { cp, logs } = await startControlPlane(t, etcd().client, {
    auth: { tokensJson: TOKENS_JSON },
    tls: { certFile: pki().serverCertFile, keyFile: pki().serverKeyFile },
  });
  t.like(await whoAmI(t, cp.address, { token: TOKEN, tls: { caFile: pki().caFile } }), { name: 'ops', role: 'viewer', auth_enabled: true });
  const localhost = cp.address.replace('127.0.0.1', 'localhost');
  t.like(await whoAmI(t, localhost, { token: TOKEN, tls: { caFile: pki().caFile } }), { name: 'ops' });

  const plaintext = await t.throwsAsync(whoAmI(t, cp.address, { token: TOKEN }));
  t.is((plaintext as grpc.ServiceError | undefined)?.code, grpc.status.UNAVAILABLE);
  const wrongCa = await t.throwsAsync(whoAmI(t, cp.address, { token: TOKEN, tls: { caFile: pki().otherCaFile } }));
  t.is((wrongCa as grpc.ServiceError | undefined)?.code, grpc.status.UNAVAILABLE);
  // TLS does not replace the token.
  const noToken = await t.throwsAsync(whoAmI(t, cp.address, { tls: { caFile: pki().caFile } }));
  t.is((noToken as grpc.ServiceError | undefined)?.code, grpc.status.UNAUTHENTICATED);
  t.true(logs.some((r) => r['message'] === 'control plane started' && r['tls'] === 'tls'));
});

test('with mutual TLS, only clients presenting a certificate from the client CA get through', async (t) => {
  const { cp, logs } = await startControlPlane(t, etcd().client, {
    auth: { disabled: true },
    tls: { certFile: pki().serverCertFile, keyFile: pki().serverKeyFile, clientCaFile: pki().caFile },
  });
  const withCert = { caFile: pki().caFile, certFile: pki().clientCertFile, keyFile: pki().clientKeyFile };
  t.like(await whoAmI(t, cp.address, { tls: withCert }), { name: 'anonymous' });

  const noCert = await t.throwsAsync(whoAmI(t, cp.address, { tls: { caFile: pki().caFile } }));
  t.is((noCert as grpc.ServiceError | undefined)?.code, grpc.status.UNAVAILABLE);
  const untrusted = { caFile: pki().caFile, certFile: pki().untrustedClientCertFile, keyFile: pki().untrustedClientKeyFile };
  const wrongCert = await t.throwsAsync(whoAmI(t, cp.address, { tls: untrusted }));
  t.is((wrongCert as grpc.ServiceError | undefined)?.code, grpc.status.UNAVAILABLE);
  t.true(logs.some((r) => r['message'] === 'control plane started' && r['tls'] === 'mutual-tls'));
});

test('incomplete or unreadable TLS options stop start-up', async (t) => {
  const base = { etcd: etcd().client, keys: freshKeys(), dataDir: '/tmp/unused', auth: { disabled: true } };
  await t.throwsAsync(ControlPlane.create({ ...base, tls: { certFile: pki().serverCertFile } }), {
    instanceOf: TypeError,
    message: /tls needs both certFile and keyFile/,
  });
  await t.throwsAsync(ControlPlane.create({ ...base, tls: { keyFile: pki().serverKeyFile, certFile: '/nonexistent/server.crt' } }), {
    message: /INVALID_ARGUMENT: tls\.certFile: cannot read \/nonexistent\/server\.crt \(ENOENT\)/,
  });
});
