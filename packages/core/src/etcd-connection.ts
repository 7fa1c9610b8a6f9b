// How to reach etcd, as plain data: flag parsing and options need no etcd client.

/** How to reach etcd; passed through to etcd3. */
export interface EtcdConnectionOptions {
  /** Comma-separated or list of endpoints, e.g. http://127.0.0.1:2379. */
  endpoints: string | string[];
  /** Client TLS: PEM files' contents. */
  tls?: { rootCertificate?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  auth?: { username: string; password: string };
  /** Per-call deadline in milliseconds. @default 5000 */
  callTimeoutMs?: number;
}

export function parseEndpoints(endpoints: string | string[]): string[] {
  const list = Array.isArray(endpoints) ? endpoints : endpoints.split(',');
  return list
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => (/^[a-z]+:\/\//.test(e) ? e : `http://${e}`));
}
