import { readFile, stat } from 'node:fs/promises';
import { Command } from 'commander';
import type { ValidationMessage } from '@switchyard/core';
import { formatBytes } from '../byte-size.js';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { deployModel, type DeployResult } from '../deploy-model.js';
import { parseDuration, parseSeconds } from '../duration.js';
import { usageError } from '../exit-codes.js';
import { parseLabel, type Labels } from '../labels.js';
import { printJson, printLine } from '../output-format.js';
import { parseFraction } from './shadow.js';
import { uploadProgressBar, wantsProgressBar } from '../upload-progress.js';
import { addRuntimeFlags, runtimeFromFlags, type RuntimeFlags } from '../runtime-flags.js';

interface DeployFlags extends ClientFlags, RuntimeFlags {
  version?: string;
  timeout: string;
  route: boolean;
  samples?: string;
  expiresAfter?: string;
  label: Labels;
  description?: string;
  autoShadow?: string;
  autoShadowFor?: string;
}

export function deployCommand(): Command {
  return addRuntimeFlags(addClientOptions(new Command('deploy')), 'the version')
    .description(
      'upload an ONNX file as a new version of a model, validate it, route all traffic to it and wait until every node serves it',
    )
    .argument('<model>', 'model name (A-Z, a-z, 0-9, . _ -)')
    .argument('<file>', 'path of the .onnx file')
    .option('--version <name>', 'version name (default: the next free vN)')
    .option('--samples <file.json>', 'samples document to validate the version with (docs/samples.md)')
    .option('--expires-after <duration>', "retire the version when unused for this long, e.g. 30d, 12h, 90s (default: the model's, else the cluster's; see docs/retirement.md)")
    .option('--label <key=value>', 'a label of the version; repeat for more', parseLabel, {})
    .option('--description <text>', 'what this version is')
    .option('--timeout <duration>', 'how long to wait for READY on every node that should hold it (its placement, docs/placement.md; e.g. 90s, 2m)', '60s')
    .option('--no-route', 'only create the version; leave the route (and so the nodes) alone')
    .option('--auto-shadow <fraction>', 'leave the route alone; once validation PASSED make the version a shadow of the current primary, mirroring this share (0-1] of its requests')
    .option('--auto-shadow-for <duration>', 'with --auto-shadow: stop shadowing after this long, e.g. 1h, 2d (default: no end)')
    .action(async (model: string, file: string, flags: DeployFlags, command: Command) => {
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const expiresAfterSeconds = flags.expiresAfter === undefined ? 0 : parseSeconds(flags.expiresAfter, '--expires-after');
      const samples = flags.samples === undefined ? undefined : await readSamples(flags.samples);
      const autoShadow = autoShadowOption(flags);
      const runtime = await runtimeFromFlags(flags);
      const size = await fileSize(file);
      const bar = wantsProgressBar({ size, output: flags.output }) ? uploadProgressBar(`uploading ${file}`) : undefined;
      let result: DeployResult;
      try {
        result = await withAdmin(command, (admin) =>
          deployModel({
            admin,
            model,
            file,
            version: flags.version ?? '',
            route: flags.route,
            timeoutMs,
            labels: flags.label,
            expiresAfterSeconds,
            ...(samples ? { samples } : {}),
            ...(flags.description !== undefined ? { description: flags.description } : {}),
            ...(bar ? { onProgress: bar.onProgress } : {}),
            ...(autoShadow ? { autoShadow } : {}),
            ...(runtime ? { runtime } : {}),
          }),
        );
      } finally {
        bar?.stop();
      }
      if (flags.output === 'json') printJson(result);
      else printLine(formatDeploy(result));
    });
}

function autoShadowOption(flags: DeployFlags): { fraction: number; durationSeconds: number } | undefined {
  if (flags.autoShadow === undefined) {
    if (flags.autoShadowFor !== undefined) throw usageError('--auto-shadow-for needs --auto-shadow <fraction>');
    return undefined;
  }
  if (!flags.route) throw usageError('--auto-shadow and --no-route do not go together: a shadow is loaded by every node');
  const durationSeconds = flags.autoShadowFor === undefined ? 0 : parseSeconds(flags.autoShadowFor, '--auto-shadow-for');
  return { fraction: parseFraction('--auto-shadow', flags.autoShadow), durationSeconds };
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    return info.size;
  } catch (err) {
    throw usageError(`cannot read model file ${file}: ${(err as Error).message}`);
  }
}

async function readSamples(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw usageError(`cannot read --samples ${path}: ${(err as Error).message}`);
  }
}

/**
 * `validation PASSED (2 samples, max |diff| 3e-7)`, or with golden outputs
 * recorded, or with no samples; REJECTED with the reason.
 */
export function formatValidation(validation: ValidationMessage | null): string {
  if (validation === null) return 'validation: none (the control plane predates deploy-time validation)';
  if (validation.state !== 'PASSED') return `validation ${validation.state}: ${validation.reason}`;
  if (validation.samples === 0) return 'validation PASSED (no samples: loaded and ran once on zeros)';
  const samples = `${validation.samples} sample${validation.samples === 1 ? '' : 's'}`;
  const detail = validation.golden_recorded ? 'golden outputs recorded' : `max |diff| ${Number(validation.max_abs_diff.toPrecision(3))}`;
  return `validation PASSED (${samples}, ${detail})`;
}

/** `deployed demo:v2 (sha256 ab12cd34ef56…, 220 B), READY on 2/2 nodes in 143 ms` and the validation line. */
export function formatDeploy(result: DeployResult): string {
  const head = `${result.model}:${result.version} (sha256 ${result.sha256.slice(0, 12)}…, ${formatBytes(result.size)})`;
  const validation = formatValidation(result.validation);
  if (result.shadow) {
    const ready = result.nodes.filter((n) => n.state === 'READY').length;
    const until = result.shadow.until ? ` until ${result.shadow.until}` : '';
    return (
      `deployed ${head} as a shadow of ${result.shadow.primaries.join(', ') || 'the route'} (fraction ${result.shadow.fraction}${until}), ` +
      `READY on ${ready}/${result.nodes.length} nodes in ${result.readyMs} ms; see 'switchyard shadow report ${result.model}'\n${validation}`
    );
  }
  if (!result.routed) return `created ${head}; route unchanged, so no node loads it until a route references it\n${validation}`;
  if (result.nodes.length === 0) return `deployed ${head}; the model keeps no copy loaded (--min-copies 0), so it loads on its first request\n${validation}`;
  const ready = result.nodes.filter((n) => n.state === 'READY').length;
  return `deployed ${head}, READY on ${ready}/${result.nodes.length} nodes in ${result.readyMs} ms\n${validation}`;
}
