/**
 * The example release pipeline (deploy/release/release-pipeline.sh) runs
 * nowhere in CI, so these tests keep it honest: it is valid bash, passes
 * `switchyard validate` only flags the command defines, rolls out to a
 * Deployment and container that deploy/k8s defines, and in a dry run
 * validates before it rolls anything out.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../src/program.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'deploy', 'release', 'release-pipeline.sh');
const run = promisify(execFile);

/** The words of the script's VALIDATE_ARGS=( … ) and VALIDATE_ARGS+=( … ) arrays, quotes removed. */
function validateArgs(script: string): string[] {
  const words: string[] = [];
  for (const match of script.matchAll(/VALIDATE_ARGS\+?=\(([\s\S]*?)\)/g)) {
    words.push(...(match[1]!.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, '')));
  }
  return words;
}

test('the pipeline script is valid bash', async (t) => {
  await t.notThrowsAsync(run('bash', ['-n', SCRIPT]));
});

test('the pipeline passes `switchyard validate` only flags it defines, each with its value', async (t) => {
  const words = validateArgs(await readFile(SCRIPT, 'utf8'));
  t.is(words[0], 'validate');
  const validate = buildProgram().commands.find((c) => c.name() === 'validate')!;
  const errors: string[] = [];
  const seen: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('--')) {
      errors.push(`unexpected argument '${word}'`);
      continue;
    }
    const option = validate.options.find((o) => o.long === word);
    if (!option) {
      errors.push(`switchyard validate has no flag ${word}`);
      continue;
    }
    seen.push(word);
    if (option.required || option.optional) {
      const value = words[i + 1];
      if (value === undefined || value.startsWith('--')) errors.push(`${word} needs a value`);
      else i++;
    }
  }
  t.deepEqual(errors, []);
  for (const flag of ['--etcd', '--report-junit', '--against']) t.true(seen.includes(flag), `the pipeline does not pass ${flag}`);
});

test('the pipeline rolls out to the node Deployment and container of deploy/k8s, after validate, in a dry run', async (t) => {
  const script = await readFile(SCRIPT, 'utf8');
  const target = /set image deployment\/([\w-]+) "([\w-]+)=\$IMAGE"/.exec(script);
  t.truthy(target, 'no `kubectl set image deployment/<name> "<container>=$IMAGE"` in the script');
  const [, deployment, container] = target!;
  const manifests = parseAllDocuments(await readFile(join(REPO_ROOT, 'deploy', 'k8s', 'prediction-node.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const node = manifests.find((m) => m?.kind === 'Deployment' && m.metadata?.name === deployment);
  t.truthy(node, `deploy/k8s/prediction-node.yaml has no Deployment ${deployment}`);
  const spec = (node!.spec.template.spec.containers as { name: string; args: string[] }[]).find((c) => c.name === container);
  t.is(spec?.args[0], 'node', `container ${container} of ${deployment} does not run switchyard node`);

  const reports = await mkdtemp(join(tmpdir(), 'switchyard-release-dry-run-'));
  t.teardown(() => rm(reports, { recursive: true, force: true }));
  const { stderr } = await run('bash', [SCRIPT], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', IMAGE: 'registry.example.com/switchyard:test', STAGING_CONTEXT: 'staging', DRY_RUN: '1', REPORT_DIR: reports },
  });
  const steps = stderr.split('\n').filter((l) => l.startsWith('+ '));
  const at = (pattern: RegExp): number => steps.findIndex((l) => pattern.test(l));
  t.true(at(/docker build/) >= 0 && at(/docker build/) < at(/docker push/));
  t.true(at(/docker push/) < at(/docker run .* validate --etcd/));
  t.true(at(/docker run .* validate --etcd/) < at(/set image deployment\/switchyard-node node=registry.example.com\/switchyard:test/));
  t.regex(steps[at(/docker run/)]!, /--against 127\.0\.0\.1:\d+/);
});
