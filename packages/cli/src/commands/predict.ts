import { Command } from 'commander';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { resolveClientTls, withAdmin } from '../client-connection.js';
import { InferenceClient } from '@switchyard/client';
import { jsonReplacer, printJson, printLine } from '../output-format.js';
import { findServingNode, predict, type PredictResult } from '../predict-model.js';
import { parseInputFlag, type InputFlag } from '../tensor-input.js';

interface PredictFlags extends ClientFlags {
  input: InputFlag[];
  version?: string;
  node?: string;
}

export function predictCommand(): Command {
  return addClientOptions(new Command('predict'))
    .description('send one prediction to a node through the KServe v2 ModelInfer RPC and print the outputs')
    .argument('<model>', 'model name')
    .requiredOption(
      '-i, --input <name=json>',
      "an input as a JSON (nested) array, e.g. x='[[1,2,3]]'; repeat for each input",
      (value: string, previous: InputFlag[] = []) => [...previous, parseInputFlag(value)],
    )
    .option('--version <name>', 'ask for this version instead of following the route')
    .option('--node <host:port>', "a prediction node's address (default: the first node with the model READY)")
    .action(async (model: string, flags: PredictFlags, command: Command) => {
      // Nodes and control planes of one cluster share a CA, so the TLS flags serve both.
      const tls = resolveClientTls(flags);
      const address = flags.node ?? (await withAdmin(command, (admin) => findServingNode(admin, model, flags.version)));
      const client = await InferenceClient.create({ nodes: [address], deadlineMs: 30_000, ...(tls ? { tls } : {}) });
      let result: PredictResult;
      try {
        result = await predict({ client, model, version: flags.version ?? '', inputs: flags.input });
      } finally {
        client.close();
      }
      if (flags.output === 'json') {
        printJson({ model: result.model, version: result.version, outputs: result.outputs });
      } else {
        for (const [name, out] of Object.entries(result.outputs)) printLine(`${name} (${out.datatype} [${out.shape.join(',')}]): ${compact(out.data)}`);
        printLine(`model_version: ${result.version} (node ${result.node})`);
      }
    });
}

/** Nested arrays on one line, BigInts exact. */
export function compact(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}
