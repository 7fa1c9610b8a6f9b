import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { Command } from 'commander';
import { AdminClient } from '@switchyard/client';
import { DEFAULT_PREFIX, type EtcdConnectionOptions } from '@switchyard/core';
import { clusterFilePath, DEFAULT_DATA_DIR, readClusterFile, removeClusterFile, writeClusterFile, type ClusterFile } from '../cluster-file.js';
import { shownPath } from '../control-plane-address.js';
import { DEMO_INPUT, DEMO_MODEL } from '../demo-model-names.js';
import { findEtcdBinary, INSTALL_HINT, isEtcdProcess } from '../etcd-child.js';
import { addEtcdOptions, etcdConnection, hasEtcdFlags, type EtcdFlags } from '../etcd-options.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { ensureLocalAdminToken, LOCAL_ADMIN_NAME } from '../local-token.js';
import { printLine } from '../output-format.js';
import { waitForSignal } from '../wait-for-signal.js';
import { compact } from './predict.js';
import { formatDeploy } from './deploy.js';

interface UpFlags extends EtcdFlags {
  dataDir: string;
  nodes: string;
  etcdPort: string;
  etcd?: string;
  prefix: string;
  listenHost: string;
  demo: boolean;
  insecureNoAuth?: boolean;
  console: boolean;
  consoleListen?: string;
}

/** Access control of the local cluster, and the token the client commands and nodes use. */
interface LocalAccess {
  auth: { tokensFile: string } | { disabled: true };
  token?: string;
  tokenFile?: string;
}

export function upCommand(): Command {
  const command = new Command('up')
    .description('run a whole local cluster (etcd, a control plane, prediction nodes) in the foreground until Ctrl-C')
    .option('--data-dir <dir>', 'where etcd data, artifacts, logs, tokens and cluster.json go', DEFAULT_DATA_DIR)
    .option('--nodes <n>', 'number of prediction nodes', '2')
    .option('--etcd-port <port>', 'etcd client port (0: any free port)', '0')
    .option('--etcd <endpoints>', 'use this etcd instead of starting one (it keeps running after up stops)')
    .option('--prefix <prefix>', 'etcd key prefix of the cluster', DEFAULT_PREFIX)
    .option('--listen-host <host>', 'host the control plane and nodes listen on', '127.0.0.1')
    .option('--insecure-no-auth', 'no access control (no tokens); only on a trusted network')
    .option('--no-demo', 'skip deploying and querying the demo model')
    .option('--console-listen <host:port>', 'serve the web console here (default: <listen-host>:7080, or any free port when taken)')
    .option('--no-console', 'do not serve the web console');
  return addEtcdOptions(command).action(async (flags: UpFlags) => {
    const nodes = integerFlag('--nodes', flags.nodes, 1, 64);
    const etcdPort = integerFlag('--etcd-port', flags.etcdPort, 0, 65535);
    if (!flags.prefix.startsWith('/')) throw usageError(`--prefix '${flags.prefix}' must start with '/', e.g. /switchyard/`);
    let externalEtcd: EtcdConnectionOptions | undefined;
    let etcdBinary = '';
    if (flags.etcd !== undefined) {
      externalEtcd = etcdConnection(flags.etcd, flags);
    } else {
      if (hasEtcdFlags(flags)) {
        throw usageError('--etcd-ca/--etcd-cert/--etcd-key/--etcd-user/--etcd-password need --etcd: the etcd that up starts itself is plaintext on loopback');
      }
      const found = findEtcdBinary();
      if (!found) {
        const where = process.env.ETCD_BIN ? `ETCD_BIN=${process.env.ETCD_BIN} is not executable` : "no 'etcd' on PATH";
        throw usageError(`etcd is not installed (${where}); ${INSTALL_HINT}`);
      }
      etcdBinary = found;
    }
    checkNotRunning(flags.dataDir);
    const access = await localAccess(flags);

    // Listen before starting anything, so a Ctrl-C during start-up still stops etcd.
    const stopRequested = waitForSignal(() => process.exit(130));
    // Loaded here, not at start: the servers' code is this command's alone.
    const [{ createLogger }, { LocalCluster }] = await Promise.all([import('@switchyard/core/logging'), import('../local-cluster.js')]);
    const logger = createLogger({ component: 'switchyard-up', level: process.env.SWITCHYARD_LOG_LEVEL ?? 'warn' });
    const cluster = await LocalCluster.start({
      etcdBinary,
      ...(externalEtcd ? { externalEtcd } : {}),
      auth: access.auth,
      ...(access.token !== undefined ? { nodeToken: access.token } : {}),
      dataDir: flags.dataDir,
      nodes,
      etcdPort,
      prefix: flags.prefix,
      host: flags.listenHost,
      logger,
      ...(flags.console ? { consoleListen: flags.consoleListen ?? '' } : {}),
    });
    try {
      await writeClusterFile(flags.dataDir, cluster.info);
      if (flags.demo) await runDemo(cluster.info, access.token);
      printReady(cluster.info, flags.dataDir, access);
      await stopRequested;
      process.stderr.write('stopping the cluster...\n');
    } finally {
      await cluster.stop();
      await removeClusterFile(flags.dataDir);
    }
    process.stderr.write('stopped\n');
  });
}

/**
 * Access control is on unless --insecure-no-auth: a local admin token is
 * created once (tokens.json + token in the data dir, both 0600) and reused,
 * so client commands run here find it without flags.
 */
async function localAccess(flags: UpFlags): Promise<LocalAccess> {
  if (flags.insecureNoAuth) return { auth: { disabled: true } };
  const local = await ensureLocalAdminToken(resolve(flags.dataDir));
  return { auth: { tokensFile: local.tokensFile }, token: local.token, tokenFile: local.tokenFile };
}

async function runDemo(info: ClusterFile, token: string | undefined): Promise<void> {
  const admin = AdminClient.connect(info.controlPlane, {
    source: 'switchyard up',
    ...(token !== undefined ? { token, tokenSource: 'switchyard up' } : {}),
  });
  try {
    const { deployDemo } = await import('../demo-model.js');
    const { deployed, prediction } = await deployDemo(admin, info.dataDir);
    printLine(formatDeploy(deployed));
    const outputs = Object.entries(prediction.outputs).map(([name, out]) => `${name}=${compact(out.data)}`);
    printLine(`predicted ${DEMO_MODEL} x=${compact(DEMO_INPUT)} -> ${outputs.join(' ')} (answered by ${DEMO_MODEL}:${prediction.version} on ${prediction.node})`);
  } finally {
    admin.close();
  }
}

function printReady(info: ClusterFile, dataDir: string, access: LocalAccess): void {
  const dirFlag = resolve(dataDir) === resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${dataDir}`;
  const cli = 'switchyard';
  const etcdLine = info.etcdPid
    ? `  etcd           ${info.etcd}   (data ${shownPath(info.etcdDataDir)}, log ${shownPath(info.etcdLog)})`
    : `  etcd           ${info.etcd}   (external)`;
  const authLine = access.tokenFile
    ? `  access         tokens on: admin token '${LOCAL_ADMIN_NAME}' in ${shownPath(access.tokenFile)} (commands run here use it by themselves)`
    : '  access         OFF (--insecure-no-auth): anyone who can reach the control plane can change what is served';
  const lines = [
    '',
    'cluster is up',
    etcdLine,
    `  control plane  ${info.controlPlane}`,
    ...(info.consoleUrl
      ? [`  console        ${info.consoleUrl}   (sign in with ${access.tokenFile ? `the token in ${shownPath(access.tokenFile)}` : 'any token: access is off'})`]
      : []),
    ...info.nodes.map((n) => `  ${n.id.padEnd(13)}  ${n.address}   ${n.httpAddress ? `REST http://${n.httpAddress}/v2   ` : ''}metrics http://${n.metricsAddress}/metrics`),
    authLine,
    `  addresses in   ${shownPath(clusterFilePath(info.dataDir))}`,
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
