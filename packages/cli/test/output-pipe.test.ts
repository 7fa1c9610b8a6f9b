import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { encodeModel, int64Tensor, node, valueInfo } from '@switchyard/testkit';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';
import { CLI_BIN, cliEnv, running } from './helpers/run-cli.js';

const test = anyTest as TestFn<CliContext>;

// y = x broadcast to [512, 512]: a one-element input gives 262,144 outputs,
// about 2.4 MB of pretty-printed JSON, far past a pipe's 64 KiB buffer.
const expandModel = encodeModel({
  name: 'expand',
  nodes: [node('Expand', ['x', 'shape'], ['y'])],
  initializers: [int64Tensor('shape', [2], [512, 512])],
  inputs: [valueInfo('x', 'FP32', [1])],
  outputs: [valueInfo('y', 'FP32', [512, 512])],
});

useCliCluster(test, { nodes: 1, files: { 'expand.onnx': expandModel } });

/** Runs the CLI with its stdout going to `stdout` (a file descriptor or 'pipe'); resolves its exit code. */
function runTo(t: { context: CliContext }, args: string[], stdout: number | 'pipe'): { child: ReturnType<typeof spawn>; code: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_BIN, ...args, '--control-plane', t.context.cluster.controlPlane.address], {
    cwd: t.context.cwd,
    env: cliEnv(),
    stdio: ['ignore', stdout, 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = once(child, 'exit').then(([c]) => {
    running.delete(child);
    return c as number | null;
  });
  return { child, code, stderr: () => stderr };
}

test.serial('output piped to a slow reader is complete and the same bytes as redirected to a file', async (t) => {
  const deployed = await cli(t, 'deploy', 'expand', 'expand.onnx');
  t.is(deployed.code, 0, deployed.stderr);
  const args = ['predict', 'expand', '-i', 'x=[1.5]', '-o', 'json'];

  const filePath = join(t.context.cwd, 'to-file.json');
  const file = await open(filePath, 'w');
  const toFile = runTo(t, args, file.fd);
  t.is(await toFile.code, 0, toFile.stderr());
  await file.close();
  const expected = await readFile(filePath);
  t.true(expected.byteLength > 1024 * 1024, `only ${expected.byteLength} bytes`);

  // A reader that takes its time, as jq on a loaded machine does: nothing is
  // read for a while, then a pause after every chunk.
  const piped = runTo(t, args, 'pipe');
  const chunks: Buffer[] = [];
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for await (const chunk of piped.child.stdout!) {
    chunks.push(chunk as Buffer);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const code = await piped.code;
  const got = Buffer.concat(chunks);
  t.log(`redirected to a file: ${expected.byteLength} bytes; through the pipe: ${got.byteLength} bytes, exit ${code}`);
  t.is(code, 0, piped.stderr());
  t.is(got.byteLength, expected.byteLength);
  t.true(got.equals(expected));
  const parsed = JSON.parse(got.toString('utf8')) as { outputs: { y: { shape: number[] } } };
  t.deepEqual(parsed.outputs.y.shape, [512, 512]);
});

test.serial('a reader that goes away early makes the command fail, not exit 0', async (t) => {
  const { child, code, stderr } = runTo(t, ['predict', 'expand', '-i', 'x=[1.5]', '-o', 'json'], 'pipe');
  const stream = child.stdout!;
  await once(stream, 'readable');
  stream.destroy();
  t.is(await code, 1);
  t.regex(stderr(), /output could not be written whole/);
});
