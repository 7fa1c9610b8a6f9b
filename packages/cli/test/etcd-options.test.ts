import test from 'ava';
import { generateTestCertificates, removeDir } from '@switchyard/testkit';
import { etcdConnection } from '../src/etcd-options.js';

test('etcd TLS files and user/password are passed through to etcd3', async (t) => {
  const certs = await generateTestCertificates();
  t.teardown(() => removeDir(certs.dir));
  const options = etcdConnection('https://10.0.0.1:2379', {
    etcdCa: certs.caFile,
    etcdCert: certs.clientCertFile,
    etcdKey: certs.clientKeyFile,
    etcdUser: 'switchyard',
    etcdPassword: 'hunter2',
  });
  t.is(options.endpoints, 'https://10.0.0.1:2379');
  t.deepEqual(options.auth, { username: 'switchyard', password: 'hunter2' });
  t.true(options.tls?.rootCertificate?.includes('BEGIN CERTIFICATE'));
  t.true(options.tls?.certChain?.includes('BEGIN CERTIFICATE'));
  t.true(options.tls?.privateKey?.includes('PRIVATE KEY'));
  t.deepEqual(etcdConnection('127.0.0.1:2379', {}), { endpoints: '127.0.0.1:2379' });
});

test('incomplete etcd credentials are usage errors that never show the password', (t) => {
  t.throws(() => etcdConnection('127.0.0.1:2379', { etcdUser: 'root' }), { message: /needs a password: set SWITCHYARD_ETCD_PASSWORD/ });
  const error = t.throws(() => etcdConnection('127.0.0.1:2379', { etcdPassword: 'hunter2' }));
  t.regex(error.message, /without --etcd-user/);
  t.false(error.message.includes('hunter2'));
  t.throws(() => etcdConnection('127.0.0.1:2379', { etcdCert: 'c.pem' }), { message: /--etcd-cert needs --etcd-key/ });
  t.throws(() => etcdConnection('', {}), { message: /at least one endpoint/ });
});
