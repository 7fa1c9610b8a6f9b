import { formatBytes } from '../byte-size.js';
import { newTable } from '../output-format.js';
import type { ValidationReport } from './validation-report.js';

/** 2.38e-7, 0.0012, 0 */
export function formatDiff(value: number): string {
  if (value === 0) return '0';
  return value < 1e-3 || value >= 1e6 ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

const cell = (text: string, max = 100): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The summary for people: one row per version (model, version, samples,
 * result, worst difference, load time, and with --against the node's
 * verdict), then why each version did not pass, in full, and the counts.
 */
export function formatSummary(report: ValidationReport): string {
  const against = report.against !== null;
  const table = newTable(['MODEL', 'VERSION', 'SAMPLES', 'RESULT', 'MAX |DIFF|', 'LOAD MS', ...(against ? ['AGAINST NODE'] : [])]);
  for (const v of report.versions) {
    const samples = v.samples === 0 ? '-' : v.samplesRun === v.samples ? String(v.samples) : `${v.samplesRun}/${v.samples}`;
    const diff = v.samplesRun > 0 ? formatDiff(v.maxAbsDiff) : '-';
    const load = v.loadMs === null ? '-' : String(Math.round(v.loadMs));
    const node = v.against ? `${v.against.state}${v.against.state === 'SAME' || v.against.state === 'DIFFERENT' ? ` (max ${formatDiff(v.against.maxAbsDiff)})` : ''}` : '-';
    table.push([v.model, v.version, samples, v.result, diff, load, ...(against ? [node] : [])]);
  }
  const lines = [table.toString()];
  const notPassing = report.versions.filter((v) => v.result !== 'PASS');
  if (notPassing.length > 0) {
    lines.push('', 'not PASS:');
    for (const v of notPassing) {
      lines.push(`  ${v.model}:${v.version} ${v.result}: ${v.reason}`);
      for (const f of v.failures.slice(1, 6)) lines.push(`    ${cell(f.reason, 300)}`);
      if (v.failures.length > 6) lines.push(`    … ${v.failures.length - 6} more (see --report-json)`);
    }
  }
  if (report.skipped.length > 0) {
    lines.push('', 'skipped:');
    for (const s of report.skipped) lines.push(`  ${s.model}:${s.version}: ${s.why}`);
  }
  const c = report.counts;
  lines.push(
    '',
    `${c.total} version(s): ${c.PASS} passed, ${c.FAIL} failed, ${c.UNVERIFIED} unverified, ${c.ERROR} error(s) ` +
      `(build ${report.build}, ${report.limits.peakRunning} at once, at most ${formatBytes(report.limits.peakMemoryBytes)} estimated, ${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  return lines.join('\n');
}
