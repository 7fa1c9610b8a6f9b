/**
 * The other side of a {@link WorkerSession} (a worker thread) or of a
 * {@link SessionProcess} (a child process): creates one onnxruntime session
 * from the artifact path, answers runs, and releases the session when asked
 * (the host then ends the thread or process, which gives its memory back).
 * Started by session-thread.ts as `new Worker(new URL('./session-worker.js', import.meta.url))`,
 * or by session-process.ts with `fork`, its data as JSON in argv[2].
 */
import { writeFileSync } from 'node:fs';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { fromWire, toWire, type FromWorker, type SessionWorkerData, type ToWorker, type WireTensor } from './session-wire.js';

interface Port {
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: ToWorker) => void): void;
}

function processPort(): Port {
  if (!process.send) throw new Error('session-worker.js runs only as a worker thread or a forked child process');
  // A run that asks for more memory than the machine has should end this
  // process, never the node: the kernel's OOM killer picks the highest score.
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000');
  } catch {
    // Not Linux, or no procfs: the address-space limit the host sets still holds.
  }
  // The node went away: nothing will read an answer.
  process.on('disconnect', () => process.exit(0));
  // ...and if it went while a run computes, that event never comes (the main
  // thread is inside onnxruntime): a thread of its own watches the parent
  // and kills this process, so a node killed mid-run leaves nothing spinning.
  new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 1000);`,
    { eval: true, workerData: process.ppid },
  ).unref();
  return { postMessage: (message) => void process.send!(message), on: (event, listener) => void process.on(event, listener) };
}

const port: Port = parentPort ?? processPort();
const data = (parentPort ? workerData : JSON.parse(process.argv[2] ?? '{}')) as SessionWorkerData;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  try {
    port.postMessage(message, transfer);
  } catch {
    // A buffer onnxruntime owns natively cannot be transferred; a clone copies it.
    port.postMessage(message);
  }
}

function wireBytes(wire: Record<string, WireTensor>): number {
  let bytes = 0;
  for (const t of Object.values(wire)) bytes += ArrayBuffer.isView(t.data) ? t.data.byteLength : (t.data as string[]).reduce((n, s) => n + s.length, 0);
  return bytes;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function serve(session: ort.InferenceSession, createMs: number): void {
  let crashOnNextRun = false;
  port.on('message', (message: ToWorker) => {
    if (message.kind === 'run') {
      if (crashOnNextRun) throw new Error('crash requested by a test');
      const feeds = fromWire(message.feeds, ort.Tensor);
      const running = message.outputs ? session.run(feeds, message.outputs) : session.run(feeds);
      running.then(
        (outputs) => {
          const { wire, transfer } = toWire(outputs, false);
          const bytes = wireBytes(wire);
          if (data.maxOutputBytes !== undefined && bytes > data.maxOutputBytes) {
            // The host would copy it again and encode it into a message no client may receive.
            post({ kind: 'error', id: message.id, message: `the outputs are ${bytes} bytes, over the limit of ${data.maxOutputBytes}`, code: 'RESOURCE_EXHAUSTED' });
            return;
          }
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
  post({ kind: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames], createMs });
}

// On failure nothing listens any more, so the thread ends once the message is out.
const creating = performance.now();
ort.InferenceSession.create(data.path, data.options).then(
  (session) => serve(session, performance.now() - creating),
  (err: unknown) => post({ kind: 'failed', message: errorMessage(err) }),
);
