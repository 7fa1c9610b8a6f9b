export { unary } from '../../src/grpc-call.js';
