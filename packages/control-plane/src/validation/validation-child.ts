import { readFile } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import type { Sample, SampleTensor, Signature } from '@switchyard/core';
import { sampleFeeds, tensorToSampleTensor } from '@switchyard/core/ort';
import { declaredMetadata } from './declared-signature.js';
import { isValidationJob, isValidationRun, type ChildMessage, type TensorMeta, type ValidationJob, type ValidationRun } from './validation-protocol.js';

// Entry of the validation child process (forked by validation-runner.ts).
// It opens an untrusted model: whatever happens here, only this process dies,
// and the parent has capped its memory and time.

// One thread each: validation shares the control plane's cores with the
// admin API. Severity 3 (errors) keeps onnxruntime's warnings off stderr, which
// the parent keeps for crash reasons.
const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('validation-child must be started with child_process.fork'));
      return;
    }
    process.send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const plain = (metadata: readonly InferenceSession.ValueMetadata[]): TensorMeta[] =>
  metadata.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));

function nextRun(): Promise<ValidationRun> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (!isValidationRun(message)) return;
      process.off('message', onMessage);
      resolve(message);
    };
    process.on('message', onMessage);
  });
}

/** Reads what the protobuf declares before onnxruntime opens it: the parent keeps it if the opening never ends. */
async function declare(artifactPath: string): Promise<void> {
  let declared: ReturnType<typeof declaredMetadata>;
  try {
    declared = declaredMetadata(await readFile(artifactPath));
  } catch {
    // Unreadable here means onnxruntime fails too, and reports why.
    return;
  }
  if (declared) await send({ type: 'declared', ...declared });
}

async function runJob(job: ValidationJob): Promise<void> {
  if (!job.samples) await declare(job.artifactPath);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(job.artifactPath, SESSION_OPTIONS);
  } catch (err) {
    await send({ type: 'load-failed', message: messageOf(err) });
    return;
  }
  try {
    await runSamples(session, job);
  } finally {
    // A pooled child validates the next version next: free this one's session first.
    await session.release().catch(() => undefined);
  }
}

async function runSamples(session: InferenceSession, job: ValidationJob): Promise<void> {
  let signature: Signature | undefined = job.signature;
  let samples: Sample[] | undefined = job.samples;
  if (samples) {
    await send({ type: 'loaded' });
  } else {
    const run = nextRun();
    await send({ type: 'loaded', inputs: plain(session.inputMetadata), outputs: plain(session.outputMetadata) });
    ({ signature, samples } = await run);
  }
  if (!signature) throw new Error('the job gave samples without a signature');
  for (const [index, sample] of samples.entries()) {
    await send({ type: 'started', index });
    let outputs: Record<string, SampleTensor>;
    try {
      const results = await session.run(sampleFeeds(sample, signature));
      outputs = Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, tensorToSampleTensor(tensor)]));
    } catch (err) {
      await send({ type: 'run-failed', index, message: messageOf(err) });
      return;
    }
    await send({ type: 'ran', index, outputs });
  }
  await send({ type: 'finished' });
}

// Without its parent there is nobody to report to; do not linger as an orphan.
process.on('disconnect', () => process.exit(0));
// Jobs come one at a time: a single-use child gets one and is killed after
// it; a pooled child (validation-pool.ts) gets the next once it has answered.
process.on('message', (message: unknown) => {
  if (isValidationRun(message)) return; // taken by the job waiting for it
  if (!isValidationJob(message)) process.exit(2);
  runJob(message).catch((err: unknown) => {
    process.stderr.write(`validation child failed: ${messageOf(err)}\n`);
    process.exit(1);
  });
});
send({ type: 'ready' }).catch(() => process.exit(2));
