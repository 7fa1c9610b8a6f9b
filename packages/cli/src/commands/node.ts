import { Command, Option } from 'commander';
import { bearerMetadata, TOKEN_ENV } from '@switchyard/core/grpc';
import { resolveClientTls } from '../client-connection.js';
import { parseByteSize } from '../byte-size.js';
import { parseDuration } from '../duration.js';
import { usageError } from '../exit-codes.js';
import { integerFlag, MIN_LEASE_TTL_SECONDS } from '../integer-flag.js';
import { serveUntilSignal } from '../serve-until-signal.js';
import { addServerOptions, serverSetup, type ServerFlags } from '../server-options.js';
import { addServerTlsOptions, serverTls, type ServerTlsFlags } from '../server-tls-options.js';
import { addShadowNodeOptions, shadowOptionsFromFlags, type ShadowNodeFlags } from '../shadow-node-flags.js';
import { checkNodeOptions } from '../node-option-flags.js';
import type { PredictionNode, PredictionNodeOptions } from '@switchyard/prediction-node';

interface NodeFlags extends ServerFlags, ServerTlsFlags, ShadowNodeFlags {
  id: string;
  metricsListen: string;
  httpListen?: string;
  controlPlaneToken?: string;
  controlPlaneTls?: boolean;
  controlPlaneTlsCa?: string;
  controlPlaneTlsCert?: string;
  controlPlaneTlsKey?: string;
  peerTlsCa?: string;
  peerTlsCert?: string;
  peerTlsKey?: string;
  drainGrace: string;
  usageInterval: string;
  shutdownDeadline: string;
  leaseTtl: string;
  inlineRunLimit: string;
  runTimeout: string;
  loadTimeout: string;
  runMemoryLimit: string;
  maxInFlightBytes: string;
  memoryBudget?: string;
  maxConnections: string;
  connectionIdle: string;
  keepaliveTime: string;
  keepaliveTimeout: string;
  maxConcurrentStreams: string;
  artifactCacheGrace: string;
}

const LIMITS_GROUP = 'Limits (docs/operations.md#limits):';

const CONTROL_PLANE_GROUP = 'Artifact downloads from the control planes:';

export function nodeCommand(): Command {
  const option = (flags: string, description: string): Option => new Option(flags, description).helpGroup(CONTROL_PLANE_GROUP);
  const peer = (flags: string, description: string): Option => new Option(flags, description).helpGroup('TLS:');
  const limit = (flags: string, description: string, value: string): Option => new Option(flags, description).helpGroup(LIMITS_GROUP).default(value);
  const command = addServerOptions(new Command('node'))
    .description('run a prediction node (KServe v2 gRPC, and REST with --http-listen) until SIGTERM/SIGINT')
    .requiredOption('--id <name>', 'unique node name, e.g. node-1')
    .requiredOption('--metrics-listen <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics')
    .option('--http-listen <host:port>', 'also serve the KServe v2 REST API at http(s)://<host:port>/v2 (same TLS and limits as gRPC; docs/protocol.md)')
    .option('--drain-grace <duration>', 'on SIGTERM/SIGINT, keep taking calls this long after health turns NOT_SERVING', '2s')
    .option('--usage-interval <duration>', "least time between two etcd writes of one version's last use (docs/retirement.md#write-rate)", '60s')
    .option('--shutdown-deadline <duration>', 'then give in-flight calls this long before cancelling them', '10s')
    .option('--lease-ttl <seconds>', "TTL of the etcd lease the node's registration and status are bound to: how long a node that died unannounced still looks alive", '10')
    .option(
      '--inline-run-limit <duration>',
      "a model version whose warm-up run takes longer than this runs in a worker thread, so it cannot delay health checks; '0' puts every version in one",
      '2ms',
    )
    .option(
      '--artifact-cache-grace <duration>',
      "remove a cached artifact from --data-dir this long after no routed, shadowed or unretired version needs it (docs/operations.md)",
      '10m',
    )
    .addOption(
      limit(
        '--run-timeout <duration>',
        "longest run of a model version: a run whose cost the request can choose runs in a session process, killed past this (DEADLINE_EXCEEDED); a caller's shorter deadline wins",
        '30s',
      ),
    )
    .addOption(limit('--load-timeout <duration>', 'longest creation of a session in a session process; a load past it fails and is retried', '60s'))
    .addOption(limit('--run-memory-limit <size>', 'address-space limit of each session process, which bounds the memory of one run (at least 1536MiB)', '4GiB'))
    .addOption(
      limit('--max-in-flight-bytes <size>', 'bytes of requests and unread responses held by calls in flight; more is refused with RESOURCE_EXHAUSTED', '256MiB'),
    )
    .addOption(
      new Option(
        '--memory-budget <size>',
        "bytes of models this node may hold (e.g. 2GiB): it never loads past it, evicting idle versions loaded on request first, else refusing the load (docs/placement.md); default: the cgroup's memory limit, else the machine's memory, less 256MiB and a tenth",
      ).helpGroup(LIMITS_GROUP),
    )
    .addOption(limit('--max-connections <n>', 'open inference connections at once; more are closed on arrival', '4096'))
    .addOption(limit('--connection-idle <duration>', 'close an inference connection with no call for this long', '5m'))
    .addOption(limit('--keepalive-time <duration>', 'ping each connection this often to find clients that have gone', '60s'))
    .addOption(limit('--keepalive-timeout <duration>', 'close a connection whose ping is unanswered this long', '20s'))
    .addOption(limit('--max-concurrent-streams <n>', 'calls at once on one connection', '128'))
    .addOption(
      option('--control-plane-token <token>', 'bearer token for artifact downloads when the control planes have access control on (role node; viewer reads models but not samples)').env(
        TOKEN_ENV,
      ),
    )
    .addOption(option('--control-plane-tls', "reach the control planes over TLS, verified against the system's roots"))
    .addOption(option('--control-plane-tls-ca <file>', "PEM CA bundle the control planes' certificates must chain to; turns on TLS"))
    .addOption(option('--control-plane-tls-cert <file>', 'PEM client certificate, for control planes that require one (mutual TLS)'))
    .addOption(option('--control-plane-tls-key <file>', 'PEM private key of --control-plane-tls-cert'))
    .addOption(
      peer(
        '--peer-tls-ca <file>',
        "PEM CA bundle the other nodes' certificates must chain to, for requests forwarded to the node holding a version; turns on TLS for them (a node serving TLS forwards over TLS anyway, verified against the system's roots without this)",
      ),
    )
    .addOption(peer('--peer-tls-cert <file>', 'PEM client certificate presented to other nodes that require one (their --tls-client-ca)'))
    .addOption(peer('--peer-tls-key <file>', 'PEM private key of --peer-tls-cert'));
  return addShadowNodeOptions(addServerTlsOptions(command, 'inference API')).action(async (flags: NodeFlags) => {
    const tls = serverTls(flags);
    const drainGraceMs = parseDuration(flags.drainGrace, '--drain-grace');
    const usageIntervalMs = parseDuration(flags.usageInterval, '--usage-interval');
    const shutdownDeadlineMs = parseDuration(flags.shutdownDeadline, '--shutdown-deadline');
    const leaseTtlSeconds = integerFlag('--lease-ttl', flags.leaseTtl, MIN_LEASE_TTL_SECONDS);
    const inlineRunLimitMs = parseDuration(flags.inlineRunLimit, '--inline-run-limit');
    const shadow = shadowOptionsFromFlags(flags);
    const limits = {
      runTimeoutMs: parseDuration(flags.runTimeout, '--run-timeout'),
      loadTimeoutMs: parseDuration(flags.loadTimeout, '--load-timeout'),
      runMemoryLimitBytes: parseByteSize(flags.runMemoryLimit, '--run-memory-limit'),
      maxInFlightBytes: parseByteSize(flags.maxInFlightBytes, '--max-in-flight-bytes'),
      ...(flags.memoryBudget !== undefined ? { memoryBudgetBytes: parseByteSize(flags.memoryBudget, '--memory-budget') } : {}),
      maxConnections: integerFlag('--max-connections', flags.maxConnections, 1),
      connectionIdleMs: parseDuration(flags.connectionIdle, '--connection-idle'),
      keepaliveTimeMs: parseDuration(flags.keepaliveTime, '--keepalive-time'),
      keepaliveTimeoutMs: parseDuration(flags.keepaliveTimeout, '--keepalive-timeout'),
      maxConcurrentStreams: integerFlag('--max-concurrent-streams', flags.maxConcurrentStreams, 1, 2 ** 31 - 1),
    };
    const artifactCacheGraceMs = parseDuration(flags.artifactCacheGrace, '--artifact-cache-grace');
    const token = flags.controlPlaneToken || undefined;
    if (token !== undefined) {
      try {
        bearerMetadata(token);
      } catch (err) {
        throw usageError(`--control-plane-token (or ${TOKEN_ENV}) is malformed: ${(err as Error).message}`);
      }
    }
    const controlPlaneTls = resolveClientTls(
      { tls: flags.controlPlaneTls, tlsCa: flags.controlPlaneTlsCa, tlsCert: flags.controlPlaneTlsCert, tlsKey: flags.controlPlaneTlsKey },
      { ca: '--control-plane-tls-ca', cert: '--control-plane-tls-cert', key: '--control-plane-tls-key' },
    );
    const peerTls = resolveClientTls(
      { tlsCa: flags.peerTlsCa, tlsCert: flags.peerTlsCert, tlsKey: flags.peerTlsKey },
      { ca: '--peer-tls-ca', cert: '--peer-tls-cert', key: '--peer-tls-key' },
    );
    const { etcd, keys } = await serverSetup(flags);
    const { createLogger } = await import('@switchyard/core/logging');
    const logger = createLogger({ component: 'prediction-node' });
    const options: PredictionNodeOptions = {
      etcd,
      keys,
      id: flags.id,
      listen: flags.listen,
      metricsListen: flags.metricsListen,
      ...(flags.httpListen !== undefined ? { httpListen: flags.httpListen } : {}),
      ...(flags.advertise ? { advertise: flags.advertise } : {}),
      ...(tls ? { tls } : {}),
      ...(token !== undefined ? { controlPlaneToken: token } : {}),
      ...(controlPlaneTls ? { controlPlaneTls } : {}),
      ...(peerTls ? { peerTls } : {}),
      dataDir: flags.dataDir,
      logger,
      processMetrics: true,
      drainGraceMs,
      usageIntervalMs,
      shutdownDeadlineMs,
      leaseTtlSeconds,
      shadow,
      artifactCacheGraceMs,
      ...limits,
      ...(inlineRunLimitMs === 0 ? { sessionHosting: 'worker' as const } : { inlineRunLimitMs }),
    };
    let node: PredictionNode;
    try {
      await checkNodeOptions(options);
      const { PredictionNode } = await import('@switchyard/prediction-node');
      node = await PredictionNode.create(options);
    } catch (err) {
      // A node that failed to start has stopped what it had started; the etcd client is ours.
      etcd.close();
      throw err;
    }
    await serveUntilSignal(logger, async () => {
      // node.stop() bounds itself; this is the backstop should anything else hang.
      const backstopMs = drainGraceMs + shutdownDeadlineMs + 5000;
      setTimeout(() => {
        logger.error('stop did not finish; exiting', { afterMs: backstopMs });
        process.exit(1);
      }, backstopMs).unref();
      await node.stop();
      etcd.close();
    });
  });
}
