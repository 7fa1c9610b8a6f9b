/**
 * The limit of this stack: a bare grpc-js server with the same proto whose
 * ModelInfer decodes the raw input, runs one onnxruntime session (created
 * from the same bytes, same session options as the node's loader) and
 * encodes the raw output. No routing, no validation beyond the minimum, no
 * metrics: whatever the node adds on top of this is its overhead.
 */
import * as grpc from '@grpc/grpc-js';
import ort from 'onnxruntime-node';
import { decodeRaw, encodeRaw, type ModelInferRequest, type ModelInferResponse } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';

export interface BareServer {
  address: string;
  stop(): Promise<void>;
}

export async function startBareServer(modelBytes: Uint8Array): Promise<BareServer> {
  const session = await ort.InferenceSession.create(modelBytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const outputName = session.outputNames[0]!;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(inferenceService().service, {
    ServerLive: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => callback(null, { live: true }),
    ModelInfer: (call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, callback: grpc.sendUnaryData<ModelInferResponse>) => {
      const request = call.request;
      const input = request.inputs[0];
      const raw = request.raw_input_contents[0];
      if (!input || !raw) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'one raw FP32 input expected' }, null);
      const feeds = { [input.name]: new ort.Tensor('float32', decodeRaw('FP32', raw) as Float32Array, input.shape.map(Number)) };
      session.run(feeds, [outputName]).then(
        (results) => {
          const y = results[outputName]!;
          callback(null, {
            model_name: request.model_name,
            model_version: 'bare',
            id: request.id,
            outputs: [{ name: outputName, datatype: 'FP32', shape: y.dims.slice() }],
            raw_output_contents: [encodeRaw(y.data as Float32Array)],
          } as ModelInferResponse);
        },
        (err: Error) => callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message }, null),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await session.release();
    },
  };
}
