// The CLI as a library: the command tree and the flows the commands use, for
// scripts and tests that would rather not spawn a process. The admin client
// itself lives in @switchyard/client.
export { main } from './main.js';
export { buildProgram } from './program.js';
export { CliError, ExitCode, exitCodeOf } from './exit-codes.js';
export { deployModel, type DeployOptions, type DeployResult, type NodeReadiness } from './deploy-model.js';
export { predict, type PredictOptions, type PredictResult } from './predict-model.js';
export { readClusterFile, type ClusterFile } from './cluster-file.js';
export { parseRouteSplits } from './route-splits.js';
