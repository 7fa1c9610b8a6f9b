import { Command } from 'commander';
import { createLogger } from '@switchyard/core';
import { accessOption, TOKENS_ENV, type AccessFlags } from '../control-plane-access.js';
import { serveProcessMetrics } from '../process-metrics.js';
import { serveUntilSignal } from '../serve-until-signal.js';
import { addServerOptions, serverSetup, type ServerFlags } from '../server-options.js';

export function controlPlaneCommand(): Command {
  return addServerOptions(new Command('control-plane'))
    .description('run a control plane (admin API + artifact store) until SIGTERM/SIGINT')
    .option('--id <name>', 'instance name in etcd (default: <hostname>-<pid>)')
    .option('--metrics-listen <host:port>', 'serve Prometheus process metrics at http://<host:port>/metrics')
    .option('--tokens-file <path>', `bearer tokens clients must present (or the JSON in $${TOKENS_ENV})`)
    .option('--insecure-no-auth', 'serve without access control; only on a trusted network')
    .action(async (flags: ServerFlags & AccessFlags) => {
      // Spread so this compiles whether or not the control plane's options have `auth` yet.
      const access = { auth: accessOption(flags) };
      const { etcd, keys } = serverSetup(flags);
      const logger = createLogger({ component: 'control-plane' });
      const { ControlPlane } = await import('@switchyard/control-plane');
      const controlPlane = await ControlPlane.create({
        ...access,
        etcd,
        keys,
        dataDir: flags.dataDir,
        listen: flags.listen,
        ...(flags.advertise ? { advertiseAddress: flags.advertise } : {}),
        ...(flags.id ? { id: flags.id } : {}),
        logger,
      });
      const metrics = flags.metricsListen ? await serveProcessMetrics(flags.metricsListen, { instance: controlPlane.id }) : undefined;
      if (metrics) logger.info('metrics listening', { address: metrics.address });
      await serveUntilSignal(logger, async () => {
        await controlPlane.stop();
        await new Promise<void>((resolve) => (metrics ? metrics.server.close(() => resolve()) : resolve()));
        etcd.close();
      });
    });
}
