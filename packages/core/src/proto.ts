import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * Where the .proto files live: inside this package (its `files` ship them),
 * found relative to this module so an installed client or node needs no
 * repository; SWITCHYARD_PROTO_DIR overrides it.
 */
export function protoDir(): string {
  if (process.env.SWITCHYARD_PROTO_DIR) return process.env.SWITCHYARD_PROTO_DIR;
  // From dist/src/ up to the package root.
  const dir = fileURLToPath(new URL('../../proto/', import.meta.url));
  if (!existsSync(dir)) throw new Error(`proto files not found at ${dir}; set SWITCHYARD_PROTO_DIR`);
  return dir;
}

/**
 * keepCase: field names as in the .proto (model_name), as KServe documents them.
 * longs as strings: INT64 tensor contents keep every bit; shapes are converted
 * to numbers where read.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

const cache = new Map<string, grpc.GrpcObject>();

/** Loads one .proto file (path relative to proto/) into a grpc-js package object. */
export function loadProto(relativePath: string): grpc.GrpcObject {
  let pkg = cache.get(relativePath);
  if (!pkg) {
    const definition = protoLoader.loadSync(relativePath, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
    pkg = grpc.loadPackageDefinition(definition);
    cache.set(relativePath, pkg);
  }
  return pkg;
}

function lookup(pkg: grpc.GrpcObject, path: string): grpc.ServiceClientConstructor {
  let node: unknown = pkg;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`service ${path} not found in the loaded protos`);
  return node as grpc.ServiceClientConstructor;
}

/** The KServe v2 inference service (client constructor; `.service` for servers). */
export function inferenceService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('inference/grpc_predict_v2.proto'), 'inference.GRPCInferenceService');
}

/** The control plane's admin service. */
export function adminService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('switchyard/admin/v1/admin.proto'), 'switchyard.admin.v1.ModelAdmin');
}

/** The node-facing artifact service. */
export function artifactService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('switchyard/artifacts/v1/artifacts.proto'), 'switchyard.artifacts.v1.ArtifactService');
}
