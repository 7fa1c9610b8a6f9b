// The bench as a library, for scripts that want the figures without the CLI.
export { runBench } from './bench.js';
export { parseBenchArgs, USAGE, type BenchArgs } from './args.js';
export { buildReport, formatReport, RATIO_TARGET, DEPLOY_P99_TARGET_MS, type BenchReport } from './report.js';
export { percentile, summarize, type LatencySummary } from './stats.js';
