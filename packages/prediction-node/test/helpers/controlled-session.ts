import ort from 'onnxruntime-node';
import type { VersionSession } from '../../src/session-interface.js';

export type Out = Record<string, ort.Tensor>;

/** A session whose runs wait until the test answers them; answers y = x·10 + row index within the run. */
export function controlled() {
  const runs: { feeds: Out; answer: (out?: Out) => void; fail: (e: Error) => void }[] = [];
  const session = {
    host: 'worker',
    inputNames: ['x'],
    outputNames: ['y'],
    run: (feeds: Out) =>
      new Promise<Out>((resolve, reject) => {
        const x = feeds.x!;
        runs.push({
          feeds,
          answer: (out?: Out) => resolve(out ?? { y: new ort.Tensor('float32', Float32Array.from(x.data as Float32Array, (v) => v * 10), x.dims) }),
          fail: reject,
        });
      }),
    release: async () => undefined,
  } as unknown as VersionSession;
  return { session, runs };
}
