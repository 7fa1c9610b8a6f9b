import { InferenceSession } from 'onnxruntime-node';
import { type SampleTensor } from '@switchyard/core';
import { sampleFeeds, tensorToSampleTensor } from '@switchyard/core/ort';
import { isValidationJob, type ChildMessage, type ValidationJob } from './validation-protocol.js';

// Entry of the validation child process (forked by validation-runner.ts).
// It runs an untrusted model: whatever happens here, only this process dies.

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

async function runJob(job: ValidationJob): Promise<void> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(job.artifactPath, SESSION_OPTIONS);
  } catch (err) {
    await send({ type: 'load-failed', message: messageOf(err) });
    return;
  }
  await send({ type: 'loaded' });
  for (const [index, sample] of job.samples.entries()) {
    await send({ type: 'started', index });
    let outputs: Record<string, SampleTensor>;
    try {
      const results = await session.run(sampleFeeds(sample, job.signature));
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
process.once('message', (message: unknown) => {
  if (!isValidationJob(message)) process.exit(2);
  // The parent kills this process once it has the answer, so nothing to release.
  runJob(message).catch((err: unknown) => {
    process.stderr.write(`validation child failed: ${messageOf(err)}\n`);
    process.exit(1);
  });
});
send({ type: 'ready' }).catch(() => process.exit(2));
