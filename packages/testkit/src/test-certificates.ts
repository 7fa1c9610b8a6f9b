import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);

/** PEM files of a throwaway PKI, all inside `dir`. */
export interface TestCertificates {
  /** The folder holding every file; remove it with removeDir() when done. */
  dir: string;
  /** The CA that signed the server and client certificates. */
  caFile: string;
  /** Server certificate for localhost and 127.0.0.1 (subjectAltName), signed by the CA. */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate (clientAuth), signed by the CA. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A second CA, unrelated to the first. */
  otherCaFile: string;
  /** Client certificate signed by the other CA: a server trusting only `caFile` must refuse it. */
  untrustedClientCertFile: string;
  untrustedClientKeyFile: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the openssl command is needed to generate test certificates; install it (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** P-256 keys: generated in milliseconds, accepted by Node's TLS. */
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  await writeFile(
    join(dir, `${name}.cnf`),
    ['[req]', 'distinguished_name = dn', 'x509_extensions = ext', '[dn]', '[ext]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash', ''].join('\n'),
  );
  await openssl(dir, ['req', '-x509', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=Switchyard test ${name}`, '-config', `${name}.cnf`]);
}

async function makeLeaf(dir: string, name: string, ca: string, extensions: string[]): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment', ...extensions, ''].join('\n'));
  await openssl(dir, ['req', '-new', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
}

/**
 * Generates a CA, a server certificate for localhost/127.0.0.1, a client
 * certificate, and a client certificate from an unrelated CA, with the
 * `openssl` command, into a new temp folder. Valid for two days.
 * @throws Error when openssl is missing or fails.
 */
export async function generateTestCertificates(): Promise<TestCertificates> {
  const dir = await makeTempDir('switchyard-certs-');
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await makeLeaf(dir, 'server', 'ca', ['extendedKeyUsage = serverAuth', 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1']);
  await makeLeaf(dir, 'client', 'ca', ['extendedKeyUsage = clientAuth']);
  await makeLeaf(dir, 'untrusted-client', 'other-ca', ['extendedKeyUsage = clientAuth']);
  const file = (name: string): string => join(dir, name);
  return {
    dir,
    caFile: file('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    otherCaFile: file('other-ca.crt'),
    untrustedClientCertFile: file('untrusted-client.crt'),
    untrustedClientKeyFile: file('untrusted-client.key'),
  };
}
