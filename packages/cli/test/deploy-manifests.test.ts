/**
 * No Kubernetes runs in CI, so these tests keep deploy/k8s honest against the
 * CLI: every YAML document parses, every `switchyard` container passes only
 * flags its subcommand defines (from buildProgram(), the same tree `--help`
 * and docs/cli.md come from), and ports agree between --listen /
 * --metrics-listen, containerPorts, probes, Services and scrape annotations.
 *
 * SWITCHYARD_K8S_DIR points the tests at another directory of manifests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { Command, Option } from 'commander';
import { parseAllDocuments } from 'yaml';
import { ETCD_COMPACTION_ARGS } from '@switchyard/core/etcd-server';
import { buildProgram } from '../src/program.js';

/** From dist/test/ up to the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const K8S_DIR = process.env.SWITCHYARD_K8S_DIR ?? join(REPO_ROOT, 'deploy', 'k8s');
const DOCKERFILE = join(REPO_ROOT, 'deploy', 'docker', 'Dockerfile');
/** The CLI's entry point: `switchyard`, or `node …/packages/cli/bin/switchyard.js`. */
const CLI_ENTRY = /(^|\/)switchyard(\.js)?$/;
const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

type Obj = Record<string, unknown>;

interface Manifest {
  where: string;
  doc: Obj;
}

interface Port {
  name?: string;
  containerPort: number;
}

interface Container {
  name: string;
  image?: string;
  command?: unknown[];
  args?: unknown[];
  ports?: Port[];
  startupProbe?: Obj;
  readinessProbe?: Obj;
  livenessProbe?: Obj;
}

interface PodTemplate {
  where: string;
  workload: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: Container[];
}

interface CliInvocation {
  where: string;
  container: Container;
  command: Command;
  /** Long flag to value ('' for a switch); a repeated flag keeps its last value. */
  flags: Map<string, string>;
  errors: string[];
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const obj = (value: unknown): Obj => (isObj(value) ? value : {});
const strings = (value: unknown): Record<string, string> => obj(value) as Record<string, string>;

async function loadManifests(): Promise<Manifest[]> {
  const files = (await readdir(K8S_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no YAML files in ${K8S_DIR}`);
  const manifests: Manifest[] = [];
  for (const file of files) {
    const text = await readFile(join(K8S_DIR, file), 'utf8');
    const documents = parseAllDocuments(text, { prettyErrors: true });
    if (!Array.isArray(documents)) continue; // an empty stream
    for (const [index, document] of documents.entries()) {
      const where = `${file}#${index}`;
      const problems = [...document.errors, ...document.warnings];
      if (problems.length > 0) throw new Error(`${where}: ${problems.map((e) => e.message).join('; ')}`);
      const doc: unknown = document.toJS();
      if (doc === null || doc === undefined) continue;
      if (!isObj(doc) || typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string') {
        throw new Error(`${where}: not a Kubernetes object (no kind/apiVersion)`);
      }
      manifests.push({ where: `${where} ${doc.kind}/${String(obj(doc.metadata).name)}`, doc });
    }
  }
  return manifests;
}

function podTemplates(manifests: Manifest[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  for (const { where, doc } of manifests) {
    const spec = obj(doc.spec);
    const template =
      doc.kind === 'Pod' ? doc : doc.kind === 'CronJob' ? obj(obj(obj(spec.jobTemplate).spec).template) : isObj(spec.template) ? spec.template : undefined;
    if (!template) continue;
    const podSpec = obj(template.spec);
    const containers = [...((podSpec.initContainers as Container[] | undefined) ?? []), ...((podSpec.containers as Container[] | undefined) ?? [])];
    const metadata = obj(template.metadata);
    templates.push({
      where,
      workload: `${String(doc.kind)}/${String(obj(doc.metadata).name)}`,
      labels: strings(metadata.labels),
      annotations: strings(metadata.annotations),
      containers,
    });
  }
  return templates;
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

/** The CLI invocation of a container, or undefined when it does not run switchyard. */
function cliInvocation(where: string, container: Container, program: Command): CliInvocation | undefined {
  const command = (container.command ?? []).map(String);
  const args = (container.args ?? []).map(String);
  let argv: string[];
  let at: number;
  const entry = [...command, ...args].findIndex((token) => CLI_ENTRY.test(token));
  if (entry >= 0) {
    argv = [...command, ...args];
    at = entry + 1;
  } else if (command.length === 0 && /switchyard/.test(container.image ?? '')) {
    argv = args; // the image's ENTRYPOINT is the CLI
    at = 0;
  } else {
    return undefined;
  }
  const here = `${where} container ${container.name}`;
  const errors: string[] = [];
  let current = program;
  for (;;) {
    const sub = current.commands.find((c) => c.name() === argv[at] || c.aliases().includes(argv[at] ?? ''));
    if (!sub) break;
    current = sub;
    at++;
  }
  if (current === program) errors.push(`${here}: '${argv[at] ?? ''}' is not a switchyard subcommand`);
  else if (current.commands.length > 0) errors.push(`${here}: '${current.name()}' needs a subcommand`);
  const flags = new Map<string, string>();
  for (; at < argv.length; at++) {
    const token = argv[at]!;
    if (!token.startsWith('--')) {
      if (current.registeredArguments.length === 0) errors.push(`${here}: unexpected argument '${token}' to 'switchyard ${current.name()}'`);
      continue;
    }
    const eq = token.indexOf('=');
    const long = eq >= 0 ? token.slice(0, eq) : token;
    const option = current.options.find((o) => o.long === long);
    if (!option) {
      errors.push(`${here}: 'switchyard ${current.name()}' has no flag ${long}`);
      continue;
    }
    let value = '';
    if (eq >= 0) value = token.slice(eq + 1);
    else if (takesValue(option)) {
      const next = argv[at + 1];
      if (next === undefined || (next.startsWith('--') && option.required)) {
        errors.push(`${here}: ${long} needs a value`);
        continue;
      }
      value = next;
      at++;
    }
    flags.set(long, value);
  }
  for (const option of current.options) {
    if (option.mandatory && option.long && !flags.has(option.long)) errors.push(`${here}: required flag ${option.long} is missing`);
  }
  return { where: here, container, command: current, flags, errors };
}

function cliInvocations(templates: PodTemplate[]): CliInvocation[] {
  const program = buildProgram();
  return templates.flatMap((t) => t.containers.flatMap((c) => cliInvocation(t.where, c, program) ?? []));
}

/** The port of a host:port flag value. */
function portOf(value: string): number | undefined {
  const match = /:(\d+)$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** A container's port by number or name. */
function resolvePort(container: Container, port: unknown): number | undefined {
  const ports = container.ports ?? [];
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port) ? port : undefined;
  if (typeof port === 'string' && /^\d+$/.test(port)) return resolvePort(container, Number(port));
  return ports.find((p) => p.name === port)?.containerPort;
}

function probeTarget(probe: Obj): { kind: string; port: unknown } | undefined {
  for (const kind of ['grpc', 'httpGet', 'tcpSocket'] as const) {
    if (isObj(probe[kind])) return { kind, port: probe[kind].port };
  }
  return undefined; // exec probes have no port
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

test('every YAML document under deploy/k8s parses and is a Kubernetes object', async (t) => {
  const manifests = await loadManifests();
  t.true(manifests.length > 0);
  const kinds = new Set(manifests.map((m) => m.doc.kind));
  for (const kind of ['Deployment', 'Service', 'ConfigMap', 'Kustomization']) t.true(kinds.has(kind), `no ${kind} in ${K8S_DIR}`);
});

test('kustomization.yaml lists every manifest file', async (t) => {
  const manifests = await loadManifests();
  const kustomization = manifests.find((m) => m.doc.kind === 'Kustomization');
  t.truthy(kustomization);
  const listed = new Set((kustomization!.doc.resources as string[] | undefined) ?? []);
  const files = new Set(manifests.map((m) => m.where.split('#')[0]!).filter((f) => f !== 'kustomization.yaml'));
  for (const file of files) t.true(listed.has(file), `kustomization.yaml does not list ${file}`);
  for (const file of listed) t.true(files.has(file), `kustomization.yaml lists ${file}, which is not in ${K8S_DIR}`);
});

test('switchyard containers pass only flags their subcommand defines, with every required flag', async (t) => {
  const invocations = cliInvocations(podTemplates(await loadManifests()));
  const run = new Set(invocations.map((i) => i.command.name()));
  t.true(run.has('control-plane'), 'no container runs `switchyard control-plane`');
  t.true(run.has('node'), 'no container runs `switchyard node`');
  t.deepEqual(invocations.flatMap((i) => i.errors), []);
});

test('switchyard containers declare exactly the ports of --listen/--metrics-listen, and --advertise uses the --listen port', async (t) => {
  const errors: string[] = [];
  for (const { where, container, flags } of cliInvocations(podTemplates(await loadManifests()))) {
    const listen = new Map<string, number | undefined>();
    for (const flag of ['--listen', '--metrics-listen']) {
      if (!flags.has(flag)) continue;
      const port = portOf(flags.get(flag)!);
      if (port === undefined || port === 0) errors.push(`${where}: ${flag} '${flags.get(flag)}' needs a fixed port`);
      listen.set(flag, port);
    }
    const declared = (container.ports ?? []).map((p) => p.containerPort);
    for (const [flag, port] of listen) {
      if (port !== undefined && !declared.includes(port)) errors.push(`${where}: ${flag} port ${port} is not a declared containerPort`);
    }
    for (const port of declared) {
      if (![...listen.values()].includes(port)) errors.push(`${where}: containerPort ${port} matches neither --listen nor --metrics-listen`);
    }
    const advertise = flags.get('--advertise');
    if (advertise !== undefined && portOf(advertise) !== listen.get('--listen')) {
      errors.push(`${where}: --advertise '${advertise}' is not on the --listen port ${listen.get('--listen')}`);
    }
  }
  t.deepEqual(errors, []);
});

test('probes target declared ports, and gRPC health probes the --listen port', async (t) => {
  const templates = podTemplates(await loadManifests());
  const program = buildProgram();
  const errors: string[] = [];
  let grpcProbes = 0;
  for (const template of templates) {
    for (const container of template.containers) {
      const cli = cliInvocation(template.where, container, program);
      const listenPort = cli ? portOf(cli.flags.get('--listen') ?? '') : undefined;
      for (const name of PROBES) {
        const probe = container[name];
        if (!probe) continue;
        const target = probeTarget(probe);
        if (!target) continue;
        const here = `${template.where} container ${container.name} ${name}`;
        const port = resolvePort(container, target.port);
        if (port === undefined) errors.push(`${here}: ${target.kind} port ${String(target.port)} is not a declared containerPort`);
        if (cli && target.kind === 'grpc') {
          grpcProbes++;
          if (port !== listenPort) errors.push(`${here}: grpc port ${String(target.port)} is not the --listen port ${listenPort}`);
        }
      }
      if (cli && !container.readinessProbe) errors.push(`${template.where} container ${container.name}: no readinessProbe`);
    }
  }
  t.true(grpcProbes > 0, 'no gRPC health probe on any switchyard container');
  t.deepEqual(errors, []);
});

test('Services, PodDisruptionBudgets and HPAs select workloads that exist; targetPorts and scrape ports are declared', async (t) => {
  const manifests = await loadManifests();
  const templates = podTemplates(manifests);
  const errors: string[] = [];
  for (const { where, doc } of manifests) {
    const spec = obj(doc.spec);
    if (doc.kind === 'Service') {
      const selector = strings(spec.selector);
      const pods = templates.filter((p) => selects(selector, p.labels));
      if (pods.length === 0) {
        errors.push(`${where}: selector ${JSON.stringify(selector)} matches no pod template`);
        continue;
      }
      for (const servicePort of (spec.ports as Obj[] | undefined) ?? []) {
        const targetPort = servicePort.targetPort ?? servicePort.port;
        for (const pod of pods) {
          if (!pod.containers.some((c) => resolvePort(c, targetPort) !== undefined)) {
            errors.push(`${where}: targetPort ${String(targetPort)} is not a containerPort of ${pod.workload}`);
          }
        }
      }
    } else if (doc.kind === 'PodDisruptionBudget') {
      const selector = strings(obj(spec.selector).matchLabels);
      if (!templates.some((p) => selects(selector, p.labels))) errors.push(`${where}: selector matches no pod template`);
    } else if (doc.kind === 'HorizontalPodAutoscaler') {
      const ref = obj(spec.scaleTargetRef);
      if (!templates.some((p) => p.workload === `${String(ref.kind)}/${String(ref.name)}`)) errors.push(`${where}: scaleTargetRef ${ref.kind}/${ref.name} does not exist`);
    }
  }
  const program = buildProgram();
  for (const pod of templates) {
    const scrapePort = pod.annotations['prometheus.io/port'];
    if (scrapePort === undefined) continue;
    const metricsPorts = pod.containers.map((c) => cliInvocation(pod.where, c, program)?.flags.get('--metrics-listen')).flatMap((v) => (v ? [portOf(v)] : []));
    if (!metricsPorts.includes(Number(scrapePort))) errors.push(`${pod.where}: prometheus.io/port ${scrapePort} is not a --metrics-listen port (${metricsPorts.join(', ')})`);
  }
  t.deepEqual(errors, []);
});

test('the Dockerfile entrypoint is the CLI the manifests run', async (t) => {
  const dockerfile = await readFile(DOCKERFILE, 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  t.truthy(entrypoint, 'no exec-form ENTRYPOINT in deploy/docker/Dockerfile');
  const argv = JSON.parse(entrypoint![1]!) as string[];
  t.deepEqual(argv, ['node', 'packages/cli/bin/switchyard.js']);
  await t.notThrowsAsync(readFile(join(REPO_ROOT, argv[1]!)), 'the entrypoint script does not exist');
});

test('the image ships only the packages the CLI needs at run time, no test code', async (t) => {
  const dockerfile = await readFile(DOCKERFILE, 'utf8');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  const shipped = [...runtime.matchAll(/^COPY --from=build \/app\/packages\/([^/]+)\/(?:dist|bin|proto)/gm)].map((m) => m[1]!);
  t.deepEqual([...new Set(shipped)].sort(), ['cli', 'client', 'console', 'control-plane', 'core', 'prediction-node']);
  // What the CLI imports at run time must be among them: its production dependencies.
  const cli = JSON.parse(await readFile(join(REPO_ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const workspaceDeps = Object.keys(cli.dependencies).filter((d) => d.startsWith('@switchyard/')).map((d) => d.slice('@switchyard/'.length));
  t.deepEqual(workspaceDeps.filter((d) => !shipped.includes(d)), []);
});

test('every etcd container compacts its history as switchyard up does, and sets a backend quota', async (t) => {
  const etcds = podTemplates(await loadManifests()).flatMap((p) =>
    p.containers.filter((c) => /(^|\/)etcd(:|$)/.test(c.image ?? '')).map((c) => ({ where: `${p.where} container ${c.name}`, args: [...(c.command ?? []), ...(c.args ?? [])].map(String) })),
  );
  if (process.env.SWITCHYARD_K8S_DIR === undefined) t.true(etcds.length > 0, 'deploy/k8s runs etcd');
  for (const { where, args } of etcds) {
    for (const flag of ETCD_COMPACTION_ARGS) t.true(args.includes(flag), `${where} lacks ${flag} (switchyard up passes ${ETCD_COMPACTION_ARGS.join(' ')})`);
    t.true(args.some((a) => /^--quota-backend-bytes=\d+$/.test(a)), `${where} sets no --quota-backend-bytes`);
  }
});
