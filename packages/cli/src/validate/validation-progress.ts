import cliProgress from 'cli-progress';
import type { ValidationProgress } from './run-validation.js';
import type { TargetVersion } from './target-versions.js';
import type { CheckPhase } from './version-check.js';
import type { VersionReport } from './validation-report.js';

/** One short line per finished version: readable in a CI log, where a bar would be noise. */
function line(report: VersionReport): string {
  const name = `${report.model}:${report.version}`;
  return `${report.result.padEnd(10)} ${name}${report.reason ? ` (${report.reason})` : ''}`;
}

/**
 * A bar on stderr for a terminal (cli-progress, as deploy's upload bar),
 * showing how many versions are done and what the latest one is doing.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ValidationProgress {
  const bar = new cliProgress.SingleBar(
    { format: 'validating [{bar}] {value}/{total} {failed}{current}', stream, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  let failed = 0;
  const failedText = (): string => (failed > 0 ? `${failed} not passing · ` : '');
  return {
    started: (total) => bar.start(total, 0, { current: '', failed: '' }),
    phase: (target: TargetVersion, phase: CheckPhase) => bar.update({ current: `${target.model}:${target.version} ${phase}`, failed: failedText() }),
    finished: (report) => {
      if (report.result === 'FAIL' || report.result === 'ERROR') failed += 1;
      bar.increment(1, { current: `${report.model}:${report.version} ${report.result}`, failed: failedText() });
    },
    stop: () => bar.stop(),
  };
}

/** Plain lines on stderr, one per finished version. */
export function lineProgress(stream: NodeJS.WritableStream = process.stderr): ValidationProgress {
  let total = 0;
  let done = 0;
  return {
    started: (n) => {
      total = n;
      stream.write(`validating ${n} version(s)\n`);
    },
    phase: () => undefined,
    finished: (report) => {
      done += 1;
      stream.write(`[${done}/${total}] ${line(report)}\n`);
    },
    stop: () => undefined,
  };
}
