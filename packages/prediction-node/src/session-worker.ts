/**
 * The worker-thread side of a {@link WorkerSession}: creates one onnxruntime
 * session from the artifact path, answers runs, and releases the session when
 * asked (the host then terminates the thread, which gives its memory back).
 * Started by worker-session.ts as `new Worker(new URL('./session-worker.js', import.meta.url))`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { fromWire, toWire, type FromWorker, type SessionWorkerData, type ToWorker } from './session-wire.js';

const port = parentPort;
if (!port) throw new Error('session-worker.js runs only as a worker thread');
const data = workerData as SessionWorkerData;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  try {
    port!.postMessage(message, transfer);
  } catch {
    // A buffer onnxruntime owns natively cannot be transferred; a clone copies it.
    port!.postMessage(message);
  }
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function serve(session: ort.InferenceSession): void {
  let crashOnNextRun = false;
  port!.on('message', (message: ToWorker) => {
    if (message.kind === 'run') {
      if (crashOnNextRun) throw new Error('crash requested by a test');
      const feeds = fromWire(message.feeds, ort.Tensor);
      const running = message.outputs ? session.run(feeds, message.outputs) : session.run(feeds);
      running.then(
        (outputs) => {
          const { wire, transfer } = toWire(outputs, false);
          post({ kind: 'result', id: message.id, outputs: wire }, transfer);
        },
        (err: unknown) => post({ kind: 'error', id: message.id, message: errorMessage(err) }),
      );
    } else if (message.kind === 'crash') {
      crashOnNextRun = true;
    } else if (message.kind === 'release') {
      session.release().then(
        () => post({ kind: 'released', id: message.id }),
        (err: unknown) => post({ kind: 'error', id: message.id, message: errorMessage(err) }),
      );
    }
  });
  post({ kind: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
}

// On failure nothing listens any more, so the thread ends once the message is out.
ort.InferenceSession.create(data.path, data.options).then(serve, (err: unknown) => post({ kind: 'failed', message: errorMessage(err) }));
