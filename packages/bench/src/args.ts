/** Command-line flags of the bench. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Measured seconds per throughput cell (split over the rounds) and per inference-thread phase. */
  durationS: number;
  warmupS: number;
  rounds: number;
  deploys: number;
  /** Versions registered for the registration rate (i). */
  registrations: number;
  /** Models registered for the registry-scale scenario (l), 10 versions each; a tenth of them (at most 1,000) routed. */
  scaleModels: number;
  concurrencies: number[];
  heavyConcurrency: number;
  slowIterations: number;
  quick: boolean;
  /** File to write the JSON to; "-" for stdout; undefined for none. */
  json: string | undefined;
  /** Scenarios to run; all of them unless --only narrowed it. */
  only: Set<Scenario>;
}

export const SCENARIOS = ['throughput', 'routed', 'shadow', 'deploy', 'thread', 'memory', 'registration', 'batching', 'rest', 'scale', 'density'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const USAGE = `Usage: node packages/bench/dist/src/main.js [options]

  --duration <s>          measured seconds per throughput cell and per inference-thread phase (default 4, --quick 1)
  --warmup <s>            unrecorded load on each new client connection and before each inference-thread phase (default 0.5, --quick 0.2)
  --rounds <n>            alternations of bare/node per concurrency; the duration is split over them (default 16, --quick 4)
  --deploys <n>           deploys timed for deploy-to-READY (default 20, --quick 5)
  --registrations <n>     versions registered for the registration rate (default 300, --quick 30)
  --scale-models <n>      models of the registry-scale scenario, 10 versions each, a tenth routed up to 1,000 (default 10000, --quick 1000)
  --concurrency <list>    client concurrencies for throughput (default 1,32)
  --heavy-concurrency <n> client concurrency of the mlp inference-thread phase (default 4; the slow phases use 2)
  --slow-iterations <n>   size of the slow model (default 3400, ≈ 1 s per run here)
  --quick                 a ~30 s smoke run
  --json <file|->         also write the figures as JSON (to stdout with -, the table then goes to stderr)
  --only <list>           run only these scenarios, comma-separated: throughput (a–c), routed (f),
                          shadow (g), deploy (d), thread (e), memory (h), registration (i),
                          batching (j: dynamic batching and overload on a node in its own process), rest (k),
                          scale (l: registry scale), density (m: cold starts, forwarding, a hot set under churn)
  --help`;

function positive(name: string, raw: string | undefined, fallback: number, integer = false): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return value;
}

/** Parses argv (without node and the script); undefined for --help. */
export function parseBenchArgs(argv: string[]): BenchArgs | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      deploys: { type: 'string' },
      registrations: { type: 'string' },
      'scale-models': { type: 'string' },
      concurrency: { type: 'string' },
      'heavy-concurrency': { type: 'string' },
      'slow-iterations': { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const concurrencies = (values.concurrency ?? '1,32').split(',').map((c) => positive('concurrency', c.trim(), 1, true));
  const only = new Set<Scenario>();
  for (const name of (values.only ?? SCENARIOS.join(',')).split(',').map((n) => n.trim())) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario '${name}'; choose from ${SCENARIOS.join(', ')}`);
    only.add(name as Scenario);
  }
  return {
    only,
    durationS: positive('duration', values.duration, quick ? 1 : 4),
    warmupS: values.warmup === '0' ? 0 : positive('warmup', values.warmup, quick ? 0.2 : 0.5),
    rounds: positive('rounds', values.rounds, quick ? 4 : 16, true),
    deploys: positive('deploys', values.deploys, quick ? 5 : 20, true),
    registrations: positive('registrations', values.registrations, quick ? 30 : 300, true),
    scaleModels: positive('scale-models', values['scale-models'], quick ? 1000 : 10_000, true),
    concurrencies,
    heavyConcurrency: positive('heavy-concurrency', values['heavy-concurrency'], 4, true),
    slowIterations: positive('slow-iterations', values['slow-iterations'], 3400, true),
    quick,
    json: values.json,
  };
}
