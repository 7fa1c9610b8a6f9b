import { invalidArgument, type InferParameter, type ModelInferRequest } from '@switchyard/core';

/** What a request's parameters ask of the node, checked. */
export interface InferParameters {
  /** `routing_key`: makes the version choice of an unversioned request sticky. */
  routingKey: string | undefined;
  /** Triton's `timeout` (microseconds), in milliseconds: the run's time limit when shorter than the call's deadline. */
  timeoutMs: number | undefined;
  /** Triton's `classification` per output name: return the top k classes instead of the tensor. */
  classification: ReadonlyMap<string, number>;
}

/** inference-service's ROUTING_KEY_PARAMETER; not imported, as that module imports this one. */
export const ROUTING_KEY_PARAMETER = 'routing_key';

/** How each parameter the node understands may be sent, where, and why the others are refused. */
const REQUEST_PARAMETERS = new Set([ROUTING_KEY_PARAMETER, 'timeout', 'priority', 'content_type']);
const INPUT_PARAMETERS = new Set(['content_type']);
const OUTPUT_PARAMETERS = new Set(['classification']);

/** Parameters Triton defines that Switchyard knowingly does not offer, with what to do instead. */
const REFUSED: Readonly<Record<string, string>> = {
  sequence_id: 'Switchyard serves stateless models only; sequence batching (sequence_id, sequence_start, sequence_end) is not offered',
  sequence_start: 'Switchyard serves stateless models only; sequence batching (sequence_id, sequence_start, sequence_end) is not offered',
  sequence_end: 'Switchyard serves stateless models only; sequence batching (sequence_id, sequence_start, sequence_end) is not offered',
  binary_data_output: "it belongs to the REST API's binary tensor extension; over gRPC every output is already raw bytes",
  binary_data: "it belongs to the REST API's binary tensor extension; over gRPC send raw_input_contents",
  binary_data_size: "it belongs to the REST API's binary tensor extension; over gRPC send raw_input_contents",
};

function kind(p: InferParameter): string {
  return p.parameter_choice ?? 'empty';
}

/** An integer parameter (int64_param or uint64_param) as a safe integer, or why not. */
function integer(p: InferParameter, where: string): number {
  const raw = p.parameter_choice === 'int64_param' ? p.int64_param : p.parameter_choice === 'uint64_param' ? p.uint64_param : undefined;
  if (raw === undefined) throw invalidArgument(`parameter '${where}' must be an int64_param or uint64_param; it is ${kind(p)}`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw invalidArgument(`parameter '${where}' is ${String(raw)}, beyond what it can mean`);
  return value;
}

function unknown(name: string, where: string, known: ReadonlySet<string>): never {
  const why = REFUSED[name];
  if (why) throw invalidArgument(`parameter '${name}' (${where}) is not supported: ${why}`);
  const list = [...known].map((k) => `'${k}'`).join(', ');
  throw invalidArgument(`parameter '${name}' (${where}) is not understood by this node, so it is refused rather than ignored; parameters understood there: ${list} (docs/protocol.md)`);
}

/**
 * Checks every parameter of a request (on the request, its inputs and its
 * requested outputs) and returns what they ask for. A parameter the node does
 * not understand is refused, never ignored: a client that asks for a sequence,
 * a priority or a classification must not get a plain answer it takes for one.
 * `content_type` (the Open Inference Protocol's hint of how a client encoded
 * a tensor) changes nothing in how tensors are read, so it is accepted.
 * @throws INVALID_ARGUMENT naming the parameter and where it was sent.
 */
export function inferParameters(request: ModelInferRequest): InferParameters {
  let routingKey: string | undefined;
  let timeoutMs: number | undefined;
  for (const [name, p] of Object.entries(request.parameters ?? {})) {
    if (!REQUEST_PARAMETERS.has(name)) unknown(name, 'request', REQUEST_PARAMETERS);
    if (name === ROUTING_KEY_PARAMETER) {
      if (p.parameter_choice !== 'string_param' || typeof p.string_param !== 'string') {
        throw invalidArgument(`parameter '${ROUTING_KEY_PARAMETER}' must be a string_param; it is ${kind(p)}`);
      }
      routingKey = p.string_param;
    } else if (name === 'timeout') {
      const micros = integer(p, 'timeout');
      if (micros < 0) throw invalidArgument(`parameter 'timeout' is ${micros} µs; give a time of at least 0`);
      // Triton: 0 means no timeout.
      if (micros > 0) timeoutMs = micros / 1000;
    } else if (name === 'priority') {
      // 0 is Triton's "the model's default"; any other level would be ignored here, so it is refused.
      if (integer(p, 'priority') !== 0) throw invalidArgument("parameter 'priority' is not supported: this node has one queue per version, without priority levels; send 0 or leave it out");
    } else if (name === 'content_type' && p.parameter_choice !== 'string_param') {
      throw invalidArgument(`parameter 'content_type' must be a string_param; it is ${kind(p)}`);
    }
  }
  for (const input of request.inputs ?? []) {
    for (const [name, p] of Object.entries(input.parameters ?? {})) {
      if (!INPUT_PARAMETERS.has(name)) unknown(name, `input '${input.name}'`, INPUT_PARAMETERS);
      if (p.parameter_choice !== 'string_param') throw invalidArgument(`parameter 'content_type' of input '${input.name}' must be a string_param; it is ${kind(p)}`);
    }
  }
  const classification = new Map<string, number>();
  for (const output of request.outputs ?? []) {
    for (const [name, p] of Object.entries(output.parameters ?? {})) {
      if (!OUTPUT_PARAMETERS.has(name)) unknown(name, `output '${output.name}'`, OUTPUT_PARAMETERS);
      const k = integer(p, `classification' of output '${output.name}`);
      if (k < 1) throw invalidArgument(`parameter 'classification' of output '${output.name}' is ${k}; ask for at least 1 class`);
      classification.set(output.name, k);
    }
  }
  return { routingKey, timeoutMs, classification };
}
