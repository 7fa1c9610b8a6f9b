import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel';
import { Etcd3, GRPCResourceExhastedError, isRecoverableError, type IOptions } from 'etcd3';
import { parseEndpoints, type EtcdConnectionOptions } from './etcd-connection.js';

/** RESOURCE_EXHAUSTED answers that say the request or the database is too big: sending again cannot help. */
const REFUSED_FOR_SIZE = /larger than max|request is too large|database space exceeded/;

/**
 * Whether an etcd error means etcd (or the way to it) is briefly unwell, so
 * the call may be tried again and counts against the host's circuit
 * breaker. etcd3 counts every RESOURCE_EXHAUSTED, so one request too large
 * for etcd used to be sent four times and open the breaker for every
 * caller of the client: "etcd is unreachable" for everyone.
 */
export function isTransientEtcdError(err: Error): boolean {
  return isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError && REFUSED_FOR_SIZE.test(err.message));
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
      // etcd3's default retry, minus answers about size. A retried
      // transaction may have applied already: the control plane's guarded
      // writes compare a key of their own, so a copy cannot apply twice.
      global: retry(handleWhen(isTransientEtcdError), { maxAttempts: 3 }),
      // etcd3's default breaker keeps a host shut for 5 s after three
      // failures; a restarted etcd should be used again within a second.
      host: () =>
        circuitBreaker(handleWhen(isTransientEtcdError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
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
