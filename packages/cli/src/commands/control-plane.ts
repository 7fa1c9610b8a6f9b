import { Command } from 'commander';
import { parseByteSize } from '../byte-size.js';
import { accessOption, TOKENS_ENV, type AccessFlags } from '../control-plane-access.js';
import { parseDuration, parseSeconds } from '../duration.js';
import { usageError } from '../exit-codes.js';
import { integerFlag, MIN_LEASE_TTL_SECONDS } from '../integer-flag.js';
import { serveProcessMetrics } from '../process-metrics.js';
import { serveUntilSignal } from '../serve-until-signal.js';
import { addServerOptions, serverSetup, type ServerFlags } from '../server-options.js';
import { addServerTlsOptions, serverTls, type ServerTlsFlags } from '../server-tls-options.js';

interface ControlPlaneFlags extends ServerFlags, AccessFlags, ServerTlsFlags {
  validationTimeout: string;
  validationMemory: string;
  defaultExpiresAfter: string;
  expirationWarning: string;
  artifactRetention: string;
  retirementSweepInterval: string;
  shadowKeeperInterval: string;
  maxArtifactBytes: string;
  uploadIdleTimeout: string;
  orphanArtifactGrace: string;
  leaseTtl: string;
  consoleListen?: string;
}

export function controlPlaneCommand(): Command {
  const command = addServerOptions(new Command('control-plane'))
    .description('run a control plane (admin API + artifact store) until SIGTERM/SIGINT')
    .option('--id <name>', 'instance name in etcd (default: <hostname>-<pid>)')
    .option('--console-listen <host:port>', 'serve the web console at http://<host:port>/ (docs/console.md); it signs people in with the same tokens')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics (process, rollouts, retirement) at http://<host:port>/metrics')
    .option('--tokens-file <path>', `bearer tokens clients must present (or the same JSON document in $${TOKENS_ENV})`)
    .option('--insecure-no-auth', 'serve without access control; only on a trusted network')
    .option('--validation-timeout <duration>', 'limit on deploy-time validation of one version (loading it and running its samples)', '30s')
    .option(
      '--validation-memory <size>',
      "cap on each validation process's memory (it opens and runs uploaded models; Node's own ≈ 100 MB included); 0 for none",
      '2GiB',
    )
    .option('--max-artifact-bytes <size>', 'largest model file UploadArtifact accepts, e.g. 256MiB, 2GiB', '256MiB')
    .option('--upload-idle-timeout <duration>', 'cancel an upload that receives nothing for this long and remove its partial file', '60s')
    .option('--orphan-artifact-grace <duration>', 'delete a stored artifact no version names (an upload never deployed) this long after its last upload', '1h')
    .option('--default-expires-after <duration>', 'retire versions unused for this long when neither they nor their model set an expiration (docs/retirement.md)', '30d')
    .option('--expiration-warning <duration>', 'warn (WARNED state, log, history) this long before a version expires', '7d')
    .option('--artifact-retention <duration>', "keep a retired version's artifact this long (unretire works until then)", '7d')
    .option('--retirement-sweep-interval <duration>', 'how often the leader looks for versions to warn, retire and collect', '60s')
    .option('--shadow-keeper-interval <duration>', 'how often the leader removes shadows past their end time or request budget (shorter: budgets overshoot less)', '5s')
    .option('--lease-ttl <seconds>', 'TTL of the etcd lease the registration (the address nodes download artifacts from) is bound to', '10');
  return addServerTlsOptions(command, 'admin API').action(async (flags: ControlPlaneFlags) => {
    const access = accessOption(flags);
    const tls = serverTls(flags);
    const validationTimeoutMs = parseDuration(flags.validationTimeout, '--validation-timeout');
    if (validationTimeoutMs <= 0) throw usageError('--validation-timeout must be more than 0');
    const validationMemoryBytes = flags.validationMemory === '0' ? 0 : parseByteSize(flags.validationMemory, '--validation-memory');
    if (validationMemoryBytes !== 0 && validationMemoryBytes < 128 * 1024 ** 2) throw usageError('--validation-memory must be 0 (no cap) or at least 128MiB');
    const maxArtifactBytes = parseByteSize(flags.maxArtifactBytes, '--max-artifact-bytes');
    const uploadIdleTimeoutMs = parseDuration(flags.uploadIdleTimeout, '--upload-idle-timeout');
    if (uploadIdleTimeoutMs <= 0) throw usageError('--upload-idle-timeout must be more than 0');
    const orphanArtifactGraceMs = parseDuration(flags.orphanArtifactGrace, '--orphan-artifact-grace');
    if (orphanArtifactGraceMs <= 0) throw usageError('--orphan-artifact-grace must be more than 0');
    const leaseTtlSeconds = integerFlag('--lease-ttl', flags.leaseTtl, MIN_LEASE_TTL_SECONDS);
    const retirement = {
      defaultExpiresAfterSeconds: parseSeconds(flags.defaultExpiresAfter, '--default-expires-after'),
      warningSeconds: parseSeconds(flags.expirationWarning, '--expiration-warning'),
      artifactRetentionSeconds: parseSeconds(flags.artifactRetention, '--artifact-retention'),
      sweepIntervalMs: parseDuration(flags.retirementSweepInterval, '--retirement-sweep-interval'),
    };
    if (retirement.defaultExpiresAfterSeconds <= 0) throw usageError('--default-expires-after must be more than 0');
    if (retirement.sweepIntervalMs <= 0) throw usageError('--retirement-sweep-interval must be more than 0');
    const shadowKeeperIntervalMs = parseDuration(flags.shadowKeeperInterval, '--shadow-keeper-interval');
    if (shadowKeeperIntervalMs <= 0) throw usageError('--shadow-keeper-interval must be more than 0, e.g. 500ms or 5s');
    const { etcd, keys } = await serverSetup(flags);
    const { createLogger } = await import('@switchyard/core/logging');
    const logger = createLogger({ component: 'control-plane' });
    const { ControlPlane } = await import('@switchyard/control-plane');
    const controlPlane = await ControlPlane.create({
      auth: access,
      etcd,
      keys,
      dataDir: flags.dataDir,
      listen: flags.listen,
      validationTimeoutMs,
      validationMemoryBytes,
      maxArtifactBytes,
      uploadIdleTimeoutMs,
      orphanArtifactGraceMs,
      retirement,
      shadowKeeperIntervalMs,
      leaseTtlSeconds,
      ...(tls ? { tls } : {}),
      ...(flags.advertise ? { advertiseAddress: flags.advertise } : {}),
      ...(flags.id ? { id: flags.id } : {}),
      ...(flags.consoleListen ? { consoleListen: flags.consoleListen } : {}),
      logger,
    });
    if (controlPlane.consoleUrl) logger.info('console listening', { url: controlPlane.consoleUrl });
    const metrics = flags.metricsListen ? await serveProcessMetrics(flags.metricsListen, { instance: controlPlane.id }, controlPlane.metrics) : undefined;
    if (metrics) logger.info('metrics listening', { address: metrics.address });
    await serveUntilSignal(logger, async () => {
      await controlPlane.stop();
      await new Promise<void>((resolve) => (metrics ? metrics.server.close(() => resolve()) : resolve()));
      etcd.close();
    });
  });
}
