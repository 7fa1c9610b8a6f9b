import { Command } from 'commander';
import { withAdmin } from '../admin-session.js';
import { deployModel, type DeployResult } from '../deploy-model.js';
import { parseDuration } from '../duration.js';
import { addClientOptions, printJson, printLine, type ClientFlags } from '../output-format.js';

interface DeployFlags extends ClientFlags {
  version?: string;
  timeout: string;
  route: boolean;
}

export function deployCommand(): Command {
  return addClientOptions(new Command('deploy'))
    .description('upload an ONNX file as a new version of a model, route all traffic to it and wait until every node serves it')
    .argument('<model>', 'model name (a-z, 0-9, . _ -)')
    .argument('<file>', 'path of the .onnx file')
    .option('--version <name>', 'version name (default: the next free vN)')
    .option('--timeout <duration>', 'how long to wait for READY on every node (e.g. 90s, 2m)', '60s')
    .option('--no-route', 'only create the version; leave the route (and so the nodes) alone')
    .action(async (model: string, file: string, flags: DeployFlags) => {
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const result = await withAdmin(flags, (admin) =>
        deployModel({ admin, model, file, version: flags.version ?? '', route: flags.route, timeoutMs }),
      );
      if (flags.output === 'json') printJson(result);
      else printLine(formatDeploy(result));
    });
}

/** `deployed demo:v2 (sha256 ab12cd34ef56…, 220 B), READY on 2/2 nodes in 143 ms` */
export function formatDeploy(result: DeployResult): string {
  const head = `${result.model}:${result.version} (sha256 ${result.sha256.slice(0, 12)}…, ${formatBytes(result.size)})`;
  if (!result.routed) return `created ${head}; route unchanged, so no node loads it until a route references it`;
  const ready = result.nodes.filter((n) => n.state === 'READY').length;
  return `deployed ${head}, READY on ${ready}/${result.nodes.length} nodes in ${result.readyMs} ms`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
