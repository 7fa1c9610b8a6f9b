import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { etcdTlsFromFiles, generateToken, SwitchyardError } from '../src/index.js';
import { bearerMetadata, callCredentialsForToken, clientCredentials, serverCredentials } from '../src/grpc.js';

test('a token goes in as an interceptor on plaintext channels and as call credentials over TLS', (t) => {
  const token = generateToken();
  t.deepEqual(clientCredentials().options, {});
  const plain = clientCredentials({ token });
  t.is(plain.options.interceptors?.length, 1);
  const secure = clientCredentials({ token, tls: {} });
  t.deepEqual(secure.options, {});
  // The reason for the interceptor: grpc-js will not compose call credentials with an insecure channel.
  t.throws(() => grpc.credentials.combineChannelCredentials(grpc.credentials.createInsecure(), callCredentialsForToken(token)), {
    message: /Cannot compose insecure credentials/,
  });
  t.deepEqual(bearerMetadata(token).get('authorization'), [`Bearer ${token}`]);
});

test('malformed tokens are refused without being echoed', (t) => {
  for (const bad of ['', 'sy_has space', 'sy_new\nline']) {
    const err = t.throws(() => clientCredentials({ token: bad }), { instanceOf: TypeError });
    t.false(bad !== '' && (err?.message.includes(bad) ?? false));
  }
});

test('TLS options are checked: pairs complete, files readable and PEM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-tls-options-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const notPem = join(dir, 'not.pem');
  await writeFile(notPem, 'hello');
  const pem = join(dir, 'ca.pem');
  await writeFile(pem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

  t.truthy(serverCredentials());
  t.throws(() => serverCredentials({ certFile: pem }), { instanceOf: TypeError, message: 'tls.keyFile is required with tls.certFile' });
  t.throws(() => serverCredentials({ keyFile: pem }), { instanceOf: TypeError, message: /tls\.certFile is required/ });
  t.throws(() => serverCredentials({ clientCaFile: pem }), { instanceOf: TypeError, message: /tls\.clientCaFile needs tls\.certFile/ });
  t.throws(() => serverCredentials({ certFile: join(dir, 'missing.pem'), keyFile: pem }), {
    instanceOf: SwitchyardError,
    message: /INVALID_ARGUMENT: tls\.certFile: cannot read .*missing\.pem \(ENOENT\)/,
  });
  t.throws(() => serverCredentials({ certFile: notPem, keyFile: pem }), { message: /tls\.certFile: .*not\.pem is not a PEM file/ });
  t.throws(() => clientCredentials({ tls: { certFile: pem } }), { instanceOf: TypeError, message: /tls\.keyFile is required/ });

  t.is(etcdTlsFromFiles({}), undefined);
  t.deepEqual(Object.keys(etcdTlsFromFiles({ caFile: pem }) ?? {}), ['rootCertificate']);
  t.deepEqual(Object.keys(etcdTlsFromFiles({ caFile: pem, certFile: pem, keyFile: pem }) ?? {}).sort(), ['certChain', 'privateKey', 'rootCertificate']);
  t.throws(() => etcdTlsFromFiles({ certFile: pem }), { instanceOf: TypeError, message: /etcd tls\.keyFile is required/ });
});
