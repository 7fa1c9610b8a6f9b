import test from 'ava';
import { NodeMetricsSampler, parseNodeMetrics, ratesBetween, resolveControlPlaneOptions } from '../src/index.js';
import { createEtcdClient } from '@switchyard/core/etcd';

// The console server's pieces that need no browser: reading the nodes'
// metrics into rates, and the consoleListen option.

const scrape = (requests: number, errors: number, fast: number, slow: number) => `
# HELP switchyard_requests_total Inference requests answered, by model and the version that answered.
# TYPE switchyard_requests_total counter
switchyard_requests_total{model="m",version="v1",node="n1"} ${requests}
switchyard_request_errors_total{model="m",version="v1",code="INVALID_ARGUMENT",node="n1"} ${errors}
switchyard_request_duration_seconds_bucket{le="0.001",model="m",version="v1",node="n1"} ${fast}
switchyard_request_duration_seconds_bucket{le="0.1",model="m",version="v1",node="n1"} ${fast + slow}
switchyard_request_duration_seconds_bucket{le="+Inf",model="m",version="v1",node="n1"} ${fast + slow}
switchyard_loaded_versions{node="n1"} 1
`;

test('rates between two scrapes: requests and errors per second, p99 from the bucket that holds it', (t) => {
  const before = { at: 0, nodes: new Map([['n1', parseNodeMetrics(scrape(100, 1, 100, 0))]]) };
  const after = { at: 2000, nodes: new Map([['n1', parseNodeMetrics(scrape(300, 5, 290, 10))]]) };
  const [rates] = ratesBetween(before, after);
  t.deepEqual(rates, { model: 'm', version: 'v1', requestRate: 100, errorRate: 2, p99Ms: 100 });
});

test('a node that restarted counts from zero; a node new since the last scrape waits for its second one', (t) => {
  const before = { at: 0, nodes: new Map([['n1', parseNodeMetrics(scrape(1000, 0, 1000, 0))]]) };
  const after = {
    at: 1000,
    nodes: new Map([
      ['n1', parseNodeMetrics(scrape(10, 0, 10, 0))],
      ['n2', parseNodeMetrics(scrape(5000, 0, 5000, 0))],
    ]),
  };
  t.is(ratesBetween(before, after)[0]!.requestRate, 10);
});

test('the sampler reports nothing until it has two scrapes, and leaves out a node it cannot reach', async (t) => {
  const sampler = new NodeMetricsSampler({ minIntervalMs: 0, timeoutMs: 500 });
  t.deepEqual((await sampler.rates(new Map([['gone', '127.0.0.1:1']]))).versions, []);
  t.deepEqual((await sampler.rates(new Map([['gone', '127.0.0.1:1']]))).versions, []);
});

test('consoleListen must be host:port, and is refused with TLS until the console can dial a TLS admin API', (t) => {
  const etcd = createEtcdClient({ endpoints: 'http://127.0.0.1:1' });
  t.teardown(() => etcd.close());
  const base = { etcd, dataDir: '/tmp/unused', auth: { disabled: true } };
  t.is(resolveControlPlaneOptions(base).consoleListen, undefined);
  t.is(resolveControlPlaneOptions({ ...base, consoleListen: '127.0.0.1:0' }).consoleListen, '127.0.0.1:0');
  t.throws(() => resolveControlPlaneOptions({ ...base, consoleListen: '7080' }), { instanceOf: TypeError, message: /consoleListen '7080' must be host:port/ });
  t.throws(() => resolveControlPlaneOptions({ ...base, consoleListen: '127.0.0.1:0', tls: { certFile: 'c', keyFile: 'k' } }), {
    instanceOf: TypeError,
    message: /consoleListen cannot be combined with tls/,
  });
});
