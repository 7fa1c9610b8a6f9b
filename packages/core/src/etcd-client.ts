import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';

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

export function createEtcdClient(options: EtcdConnectionOptions): Etcd3 {
  const hosts = parseEndpoints(options.endpoints);
  if (hosts.length === 0) throw new TypeError('etcd endpoints must name at least one host:port');
  const etcdOptions: IOptions = {
    hosts,
    dialTimeout: 3000,
    defaultCallOptions: (context) =>
      // Watches and lease keepalives are long-lived streams: no deadline.
      context.isStream ? {} : { deadline: Date.now() + (options.callTimeoutMs ?? 5000) },
    faultHandling: {
      // etcd3's default breaker keeps a host shut for 5 s after three
      // failures; a restarted etcd should be used again within a second.
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      // Nodes learn of changes only through their watch. etcd3's default watch
      // backoff grows to 30 s, so after an outage a change could wait that long
      // for the next retry (seen: 8-22 s gaps); retry at least every second.
      // etcd3 calls next() on it as on its own default ExponentialBackoff (a
      // backoff factory); its typings say IBackoff, hence the cast.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  };
  if (options.tls) etcdOptions.credentials = options.tls as IOptions['credentials'];
  if (options.auth) etcdOptions.auth = options.auth;
  return new Etcd3(etcdOptions);
}
