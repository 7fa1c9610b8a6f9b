import test from 'ava';
import { Tensor } from 'onnxruntime-node';
import { decodeBytesRaw, numbersToHalves, type ModelInferRequest } from '@switchyard/core';
import { inferParameters, ROUTING_KEY_PARAMETER } from '../src/infer-parameters.js';
import { ROUTING_KEY_PARAMETER as SERVICE_ROUTING_KEY } from '../src/inference-service.js';
import { classifyOutput } from '../src/output-classification.js';

const request = (overrides: Partial<ModelInferRequest>): ModelInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
  raw_input_contents: [],
  ...overrides,
});

test('understood parameters are read: routing key, Triton timeout and classification', (t) => {
  t.is(ROUTING_KEY_PARAMETER, SERVICE_ROUTING_KEY);
  const parsed = inferParameters(
    request({
      parameters: {
        routing_key: { parameter_choice: 'string_param', string_param: 'user-7' },
        timeout: { parameter_choice: 'uint64_param', uint64_param: '2500' },
        priority: { parameter_choice: 'int64_param', int64_param: '0' },
        content_type: { parameter_choice: 'string_param', string_param: 'np' },
      },
      outputs: [{ name: 'y', parameters: { classification: { parameter_choice: 'int64_param', int64_param: '3' } } }],
    }),
  );
  t.is(parsed.routingKey, 'user-7');
  t.is(parsed.timeoutMs, 2.5);
  t.deepEqual([...parsed.classification], [['y', 3]]);
  t.is(inferParameters(request({})).timeoutMs, undefined);
});

test('parameters the node does not understand are refused, naming them and where they were sent', (t) => {
  const refused = (r: Partial<ModelInferRequest>, pattern: RegExp): void => {
    const err = t.throws(() => inferParameters(request(r)));
    t.regex(err?.message ?? '', /^INVALID_ARGUMENT: /);
    t.regex(err?.message ?? '', pattern);
  };
  refused({ parameters: { temperature: { parameter_choice: 'double_param', double_param: 0.7 } } }, /parameter 'temperature' \(request\) is not understood .*'routing_key'/);
  refused({ parameters: { sequence_id: { parameter_choice: 'uint64_param', uint64_param: '9' } } }, /'sequence_id' \(request\) is not supported: .*stateless/);
  refused({ parameters: { priority: { parameter_choice: 'int64_param', int64_param: '2' } } }, /'priority' is not supported/);
  refused({ parameters: { routing_key: { parameter_choice: 'int64_param', int64_param: '2' } } }, /must be a string_param; it is int64_param/);
  refused({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: { parameter_choice: 'int64_param', int64_param: '4' } } }] }, /'binary_data_size' \(input 'x'\) is not supported: .*REST/);
  refused({ outputs: [{ name: 'y', parameters: { top_k: { parameter_choice: 'int64_param', int64_param: '1' } } }] }, /'top_k' \(output 'y'\) is not understood/);
  refused({ outputs: [{ name: 'y', parameters: { classification: { parameter_choice: 'int64_param', int64_param: '0' } } }] }, /ask for at least 1 class/);
});

test('classification: top k per row as BYTES score:index, highest first', (t) => {
  const scores = new Tensor('float32', Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]), [2, 3]);
  const out = classifyOutput('p', scores, 2);
  t.deepEqual(out.tensor, { name: 'p', datatype: 'BYTES', shape: [2, 2] });
  t.deepEqual(decodeBytesRaw(out.raw, 4, 'p'), ['0.7:1', '0.2:2', '0.5:0', '0.25:1']);
  t.deepEqual(decodeBytesRaw(classifyOutput('p', scores, 9).raw, 6, 'p').length, 6);
  t.deepEqual(decodeBytesRaw(classifyOutput('h', new Tensor('float16', numbersToHalves([1, 3]), [2]), 1).raw, 1, 'h'), ['3:1']);
  t.throws(() => classifyOutput('s', new Tensor('string', ['a'], [1]), 1), { message: /BYTES, which holds no class scores/ });
});
