/**
 * The bench's command line: `pnpm bench [--quick] [--duration s] [--json file|-]`.
 * Prints a table; `--json` writes the figures for comparing commits.
 * See docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { killTracked } from '@switchyard/testkit';
import { parseBenchArgs, USAGE, type BenchArgs } from './args.js';
import { BenchCluster } from './bench-cluster.js';
import { runBench } from './bench.js';
import { killLoadClients } from './load-runner.js';
import { formatReport } from './report.js';

async function main(): Promise<number> {
  let args: BenchArgs | undefined;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const jsonToStdout = args.json === '-';
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  const report = await runBench(args, progress);
  const text = formatReport(report);
  (jsonToStdout ? process.stderr : process.stdout).write(`\n${text}\n`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (jsonToStdout) process.stdout.write(json);
  else if (args.json) writeFileSync(args.json, json);
  return 0;
}

// Ctrl-C or a kill: no load client or etcd may outlive the bench.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLoadClients();
    killTracked();
    BenchCluster.removeDirsSync();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    killLoadClients();
    killTracked();
    process.exit(1);
  },
);
