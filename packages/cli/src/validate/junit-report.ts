import type { ValidationReport, VersionReport } from './validation-report.js';

/**
 * The report as JUnit XML, the format every CI system reads: one testsuite,
 * one testcase per version (classname = model), a <failure> naming the sample
 * and output for FAIL, an <error> for a version that could not be fetched or
 * loaded, <skipped> for UNVERIFIED. Hand-written: the format needs a dozen
 * elements, and escaping is the only part to get right.
 */

// Characters XML 1.0 cannot hold at all, even escaped.
const INVALID_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for an attribute value or element content. */
export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attrs = (values: Record<string, string | number>): string =>
  Object.entries(values)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function testcase(v: VersionReport, requireSamples: boolean): string {
  const open = `    <testcase${attrs({ classname: v.model, name: `${v.model}:${v.version}`, time: seconds(v.durationMs) })}`;
  const details = [
    `sha256 ${v.sha256 || '-'}, ${v.size} bytes; referenced by ${v.referencedBy.join(', ')}`,
    `samples ${v.samplesRun}/${v.samples}, max |diff| ${v.maxAbsDiff}, load ${v.loadMs === null ? '-' : `${v.loadMs} ms`}`,
    ...(v.against ? [`against ${v.against.node}: ${v.against.state}${v.against.reason ? ` (${v.against.reason})` : ''}`] : []),
  ].join('\n');
  switch (v.result) {
    case 'PASS':
      return `${open}>\n      <system-out>${xmlEscape(details)}</system-out>\n    </testcase>`;
    case 'UNVERIFIED':
      return `${open}>\n      <skipped${attrs({ message: `UNVERIFIED: ${v.reason}` })}/>\n      <system-out>${xmlEscape(details)}</system-out>\n    </testcase>`;
    case 'FAIL': {
      const body = v.failures.length > 0 ? v.failures.map((f) => f.reason).join('\n') : v.reason;
      const type = v.failures.some((f) => f.output !== '') ? 'OutputMismatch' : requireSamples && v.samplesRun === 0 ? 'NoSamples' : 'SampleFailed';
      return `${open}>\n      <failure${attrs({ message: v.reason, type })}>${xmlEscape(`${body}\n\n${details}`)}</failure>\n    </testcase>`;
    }
    case 'ERROR':
      return `${open}>\n      <error${attrs({ message: v.reason, type: v.reason.startsWith('could not fetch') ? 'FetchError' : 'LoadError' })}>${xmlEscape(details)}</error>\n    </testcase>`;
  }
}

/** The JUnit XML document of a report. */
export function junitXml(report: ValidationReport): string {
  const c = report.counts;
  const totals = { tests: c.total, failures: c.FAIL, errors: c.ERROR, skipped: c.UNVERIFIED, time: seconds(report.durationMs) };
  const properties = [
    ['build', report.build],
    ['etcd_revision', report.etcdRevision],
    ['against', report.against ?? ''],
    ['require_samples', String(report.requireSamples)],
    ['all', String(report.all)],
  ]
    .map(([name, value]) => `      <property${attrs({ name: name!, value: value! })}/>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'switchyard validate', ...totals })}>`,
    `  <testsuite${attrs({ name: 'switchyard validate', ...totals, timestamp: report.startedAt })}>`,
    `    <properties>\n${properties}\n    </properties>`,
    ...report.versions.map((v) => testcase(v, report.requireSamples)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
