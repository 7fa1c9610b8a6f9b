import { Command } from 'commander';
import { createLogger } from '@switchyard/core';
import { TOKEN_ENV } from '../admin-client.js';
import { serveUntilSignal } from '../serve-until-signal.js';
import { addServerOptions, serverSetup, type ServerFlags } from '../server-options.js';

export function nodeCommand(): Command {
  return addServerOptions(new Command('node'))
    .description('run a prediction node (KServe v2 gRPC) until SIGTERM/SIGINT')
    .requiredOption('--id <name>', 'unique node name, e.g. node-1')
    .requiredOption('--metrics-listen <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics')
    .action(async (flags: ServerFlags & { id: string; metricsListen: string }) => {
      const { etcd, keys } = serverSetup(flags);
      const logger = createLogger({ component: 'prediction-node' });
      const { PredictionNode } = await import('@switchyard/prediction-node');
      // Artifact downloads from a control plane with access control need a (viewer) token.
      const token = process.env[TOKEN_ENV];
      const access = token ? { controlPlaneToken: token } : {};
      const node = await PredictionNode.create({
        ...access,
        etcd,
        keys,
        id: flags.id,
        listen: flags.listen,
        metricsListen: flags.metricsListen,
        ...(flags.advertise ? { advertise: flags.advertise } : {}),
        dataDir: flags.dataDir,
        logger,
        processMetrics: true,
      });
      await serveUntilSignal(logger, async () => {
        await node.stop();
        etcd.close();
      });
    });
}
