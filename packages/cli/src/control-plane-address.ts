import { relative } from 'node:path';
import { splitHostPort } from '@switchyard/core';
import { clusterFilePath, DEFAULT_DATA_DIR, readClusterFile } from './cluster-file.js';
import { usageError } from './exit-codes.js';

/** Where a client command looks for the control plane. */
export interface ControlPlaneFlags {
  controlPlane?: string;
  /** Where `controlPlane` came from, for messages. @default '--control-plane' */
  controlPlaneSource?: string;
  dataDir?: string;
}

/** An address and where it came from, so errors can say which setting to fix. */
export interface ResolvedAddress {
  address: string;
  source: string;
  /** True when the address is the one `switchyard up` wrote into <data-dir>/cluster.json. */
  fromClusterFile: boolean;
}

/** A path as people should type it: relative to the working directory when inside it. */
export function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === '' || shown.startsWith('..') ? path : shown;
}

/**
 * Finds the control plane: --control-plane, else SWITCHYARD_CONTROL_PLANE,
 * else the cluster.json that `switchyard up` wrote in the data dir.
 */
export function resolveControlPlane(flags: ControlPlaneFlags, env: NodeJS.ProcessEnv = process.env): ResolvedAddress {
  if (flags.controlPlane) return checked(flags.controlPlane, flags.controlPlaneSource ?? '--control-plane', false);
  const fromEnv = env.SWITCHYARD_CONTROL_PLANE;
  if (fromEnv) return checked(fromEnv, 'SWITCHYARD_CONTROL_PLANE', false);
  const dataDir = flags.dataDir ?? DEFAULT_DATA_DIR;
  const shown = shownPath(clusterFilePath(dataDir));
  let cluster;
  try {
    cluster = readClusterFile(dataDir);
  } catch (err) {
    throw usageError(`cannot read ${shown}: ${(err as Error).message}`);
  }
  if (cluster) return checked(cluster.controlPlane, shown, true);
  throw usageError(
    'no control plane configured. Use one of:\n' +
      '  --control-plane <host:port>\n' +
      '  SWITCHYARD_CONTROL_PLANE=<host:port>\n' +
      `  a local cluster started with 'switchyard up' in this directory (it writes ${shown}; use --data-dir if it lives elsewhere)`,
  );
}

function checked(address: string, source: string, fromClusterFile: boolean): ResolvedAddress {
  try {
    splitHostPort(address);
  } catch {
    throw usageError(`${source} is '${address}', which is not host:port (for example 127.0.0.1:7000)`);
  }
  return { address, source, fromClusterFile };
}
