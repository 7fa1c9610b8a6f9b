import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '@switchyard/core';
import { AdminClient } from '../admin-client.js';
import { clusterFilePath, DEFAULT_DATA_DIR, readClusterFile, removeClusterFile, writeClusterFile, type ClusterFile } from '../cluster-file.js';
import { deployDemo, DEMO_INPUT, DEMO_MODEL } from '../demo-model.js';
import { findEtcdBinary, INSTALL_HINT, isEtcdProcess } from '../etcd-child.js';
import { usageError } from '../exit-codes.js';
import { LocalCluster } from '../local-cluster.js';
import { printLine } from '../output-format.js';
import { waitForSignal } from '../wait-for-signal.js';
import { compact } from './predict.js';
import { formatDeploy } from './deploy.js';

interface UpFlags {
  dataDir: string;
  nodes: string;
  etcdPort: string;
  listenHost: string;
  demo: boolean;
}

export function upCommand(): Command {
  return new Command('up')
    .description('run a whole local cluster (etcd, a control plane, prediction nodes) in the foreground until Ctrl-C')
    .option('--data-dir <dir>', 'where etcd data, artifacts, logs and cluster.json go', DEFAULT_DATA_DIR)
    .option('--nodes <n>', 'number of prediction nodes', '2')
    .option('--etcd-port <port>', 'etcd client port (0: any free port)', '0')
    .option('--listen-host <host>', 'host the control plane and nodes listen on', '127.0.0.1')
    .option('--no-demo', 'skip deploying and querying the demo model')
    .action(async (flags: UpFlags) => {
      const nodes = integerFlag('--nodes', flags.nodes, 1, 64);
      const etcdPort = integerFlag('--etcd-port', flags.etcdPort, 0, 65535);
      const etcdBinary = findEtcdBinary();
      if (!etcdBinary) {
        const where = process.env.ETCD_BIN ? `ETCD_BIN=${process.env.ETCD_BIN} is not executable` : "no 'etcd' on PATH";
        throw usageError(`etcd is not installed (${where}); ${INSTALL_HINT}`);
      }
      checkNotRunning(flags.dataDir);

      // Listen before starting anything, so a Ctrl-C during start-up still stops etcd.
      const stopRequested = waitForSignal(() => process.exit(130));
      const logger = createLogger({ component: 'switchyard-up', level: process.env.SWITCHYARD_LOG_LEVEL ?? 'warn' });
      const cluster = await LocalCluster.start({ etcdBinary, dataDir: flags.dataDir, nodes, etcdPort, host: flags.listenHost, logger });
      try {
        await writeClusterFile(flags.dataDir, cluster.info);
        if (flags.demo) await runDemo(cluster.info);
        printReady(cluster.info, flags.dataDir);
        await stopRequested;
        process.stderr.write('stopping the cluster...\n');
      } finally {
        await cluster.stop();
        await removeClusterFile(flags.dataDir);
      }
      process.stderr.write('stopped\n');
    });
}

async function runDemo(info: ClusterFile): Promise<void> {
  const admin = AdminClient.connect(info.controlPlane, { source: 'switchyard up' });
  try {
    const { deployed, prediction } = await deployDemo(admin, info.dataDir);
    printLine(formatDeploy(deployed));
    const outputs = Object.entries(prediction.outputs).map(([name, out]) => `${name}=${compact(out.data)}`);
    printLine(`predicted ${DEMO_MODEL} x=${compact(DEMO_INPUT)} -> ${outputs.join(' ')} (answered by ${DEMO_MODEL}:${prediction.version} on ${prediction.node})`);
  } finally {
    admin.close();
  }
}

function printReady(info: ClusterFile, dataDir: string): void {
  const shown = (path: string): string => relative(process.cwd(), path) || '.';
  const dirFlag = resolve(dataDir) === resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${dataDir}`;
  const cli = 'switchyard';
  const lines = [
    '',
    'cluster is up',
    `  etcd           ${info.etcd}   (data ${shown(info.etcdDataDir)}, log ${shown(info.etcdLog)})`,
    `  control plane  ${info.controlPlane}`,
    ...info.nodes.map((n) => `  ${n.id.padEnd(13)}  ${n.address}   metrics http://${n.metricsAddress}/metrics`),
    `  addresses in   ${shown(clusterFilePath(info.dataDir))}`,
    '',
    'try:',
    `  ${cli} predict ${DEMO_MODEL} --input x='[[1,2,3]]'${dirFlag}`,
    `  ${cli} status ${DEMO_MODEL}${dirFlag}`,
    `  ${cli} deploy my-model ./model.onnx${dirFlag}`,
    `  ETCDCTL_API=3 etcdctl --endpoints ${info.etcd} get --prefix ${info.prefix}`,
  ];
  if (!onPath(cli)) lines.push(`('switchyard' is not on PATH here: alias switchyard='node ${resolve(process.argv[1] ?? 'packages/cli/bin/switchyard.js')}')`);
  lines.push('', 'Ctrl-C stops the cluster.');
  printLine(lines.join('\n'));
}

/** Refuses to start twice on one data dir; a stale cluster.json from a crash is fine. */
function checkNotRunning(dataDir: string): void {
  let previous: ClusterFile | undefined;
  try {
    previous = readClusterFile(dataDir);
  } catch {
    return; // unreadable: it will be overwritten
  }
  if (!previous) return;
  if (previous.pid !== process.pid && alive(previous.pid)) {
    throw usageError(`a cluster from ${dataDir} is already running (pid ${previous.pid}); stop it with Ctrl-C there or 'kill ${previous.pid}', or use another --data-dir`);
  }
  if (previous.etcdPid && isEtcdProcess(previous.etcdPid)) {
    throw usageError(`etcd from an earlier 'switchyard up' is still running (pid ${previous.etcdPid}); stop it with 'kill ${previous.etcdPid}' and run up again`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function integerFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${flag} must be a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}
