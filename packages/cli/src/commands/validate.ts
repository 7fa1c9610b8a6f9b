import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { KeyLayout, unavailable } from '@switchyard/core';
import { addClientOptions } from '../client-options.js';
import { addEtcdOptions } from '../etcd-options.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { printJson, printLine } from '../output-format.js';
import type { AgainstNode } from '../validate/against-node.js';
import { junitXml } from '../validate/junit-report.js';
import { formatSummary } from '../validate/summary-table.js';
import { resolveValidateSettings, type ValidateFlags } from '../validate/validate-options.js';
import type { ValidationReport } from '../validate/validation-report.js';
import { lineProgress, terminalProgress } from '../validate/validation-progress.js';

/** The exit code of a finished run: FAILED over VALIDATION_ERROR, since a known-bad build matters most. */
export function validationOutcome(report: ValidationReport): { exitCode: ExitCode; message: string } {
  const { FAIL, ERROR, total } = report.counts;
  if (FAIL > 0) return { exitCode: ExitCode.FAILED, message: `${FAIL} of ${total} version(s) FAILED validation in this build${ERROR > 0 ? ` (and ${ERROR} could not be checked)` : ''}; see the summary` };
  if (ERROR > 0) return { exitCode: ExitCode.VALIDATION_ERROR, message: `${ERROR} of ${total} version(s) could not be checked (fetch or load error); see the summary` };
  return { exitCode: ExitCode.OK, message: '' };
}

export function validateCommand(): Command {
  const command = addClientOptions(new Command('validate'))
    .description("check this build against the production models: load every routed version, run its samples, compare with the golden outputs")
    .option('--etcd <endpoints>', 'etcd endpoints of the cluster whose target state to check (else the cluster in <data-dir>/cluster.json)')
    .option('--prefix <prefix>', 'etcd key prefix of the cluster (default /switchyard/, or the one in cluster.json)')
    .option('--all', 'every version that is not retired, routed or not (versions REJECTED at deploy are skipped)')
    .option('--model <name...>', 'only these models (repeatable)')
    .option('--against <host:port>', 'also send every sample to this running prediction node and compare its answers with this build\'s')
    .option('--concurrency <n>', 'versions checked at once (default: the number of cores)')
    .option('--max-memory <size>', 'memory budget of the versions checked at once, estimated as 64 MiB + 3x the artifact each, e.g. 2GiB (default: half the machine\'s memory)')
    .option('--timeout <duration>', 'per version: loading the model plus running all its samples', '60s')
    .option('--require-samples', 'a version without golden outputs fails instead of being UNVERIFIED')
    .option('--report-json <file>', 'write the full report as JSON')
    .option('--report-junit <file>', 'write the report as JUnit XML (one testcase per version) for CI');
  return addEtcdOptions(command).action(async (_flags: ValidateFlags, cmd: Command) => {
    const settings = resolveValidateSettings(cmd);
    const output = cmd.opts<ValidateFlags>().output;
    // Loaded here, not at start: onnxruntime and etcd3 are this command's alone.
    const [{ createLogger }, { createEtcdClient }, { AgainstNode }, { ArtifactFiles }, { runValidation }, { readTargetVersions }] = await Promise.all([
      import('@switchyard/core/logging'),
      import('@switchyard/core/etcd'),
      import('../validate/against-node.js'),
      import('../validate/artifact-files.js'),
      import('../validate/run-validation.js'),
      import('../validate/target-versions.js'),
    ]);
    const logger = createLogger({ component: 'validate', level: process.env.SWITCHYARD_LOG_LEVEL ?? 'error' });
    const etcd = createEtcdClient(settings.etcd);
    const keys = new KeyLayout(settings.prefix);
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-validate-'));
    let against: AgainstNode | undefined;
    const files = new ArtifactFiles({
      etcd,
      keys,
      dir,
      controlPlanes: settings.controlPlanes,
      logger,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      ...(settings.tls ? { tls: settings.tls } : {}),
    });
    let report: ValidationReport;
    try {
      const selection = await readTargetVersions(etcd, keys, { all: settings.all, models: settings.models }).catch((err: unknown) => {
        // etcd3's errors carry no gRPC status of ours; without this they would exit 1 as INTERNAL.
        throw unavailable(`cannot read the target state from etcd ${settings.etcd.endpoints}: ${(err as Error).message}; check --etcd and the etcd connection flags`);
      });
      for (const model of settings.models) {
        if (!selection.versions.some((v) => v.model === model)) {
          throw new CliError(ExitCode.FAILED, `model ${model} has no ${settings.all ? '' : 'routed '}versions under ${settings.prefix}${settings.all ? '' : ' (add --all to check unrouted versions)'}`);
        }
      }
      if (selection.versions.length === 0) {
        // A release gate that checked nothing must not pass: most likely the wrong etcd or prefix.
        throw new CliError(
          ExitCode.VALIDATION_ERROR,
          `no versions to validate under ${settings.prefix} in etcd ${settings.etcd.endpoints}: no route sends traffic to any version (check --etcd and --prefix, or use --all)`,
        );
      }
      if (settings.against) {
        against = await AgainstNode.connect({
          address: settings.against,
          ...(settings.token !== undefined ? { token: settings.token } : {}),
          ...(settings.tls ? { tls: settings.tls } : {}),
        });
      }
      const progress = process.stderr.isTTY ? terminalProgress() : lineProgress();
      report = await runValidation({
        selection,
        check: { files, timeoutMs: settings.timeoutMs, requireSamples: settings.requireSamples, logger, ...(against ? { against } : {}) },
        concurrency: settings.concurrency,
        maxMemoryBytes: settings.maxMemoryBytes,
        all: settings.all,
        progress,
      });
    } finally {
      against?.close();
      files.close();
      etcd.close();
      await rm(dir, { recursive: true, force: true });
    }
    if (settings.reportJson) await writeFile(settings.reportJson, `${JSON.stringify(report, null, 2)}\n`);
    if (settings.reportJunit) await writeFile(settings.reportJunit, junitXml(report));
    if (output === 'json') printJson(report);
    else printLine(formatSummary(report));
    const outcome = validationOutcome(report);
    if (outcome.exitCode !== ExitCode.OK) throw new CliError(outcome.exitCode, outcome.message);
  });
}
