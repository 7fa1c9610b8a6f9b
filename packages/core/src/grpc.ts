// '@switchyard/core/grpc': proto loading, TLS credentials and bearer-token auth for grpc-js servers and clients.
export {
  protoDir,
  loadProto,
  inferenceService,
  adminService,
  artifactService,
} from './proto.js';
export {
  serverCredentials,
  describeServerTls,
  channelCredentials,
} from './tls.js';
export {
  type AuthOptions,
  bearerToken,
  authorizeCall,
  withAuth,
} from './auth/authorize.js';
export {
  TOKEN_ENV,
  bearerMetadata,
  callCredentialsForToken,
  bearerInterceptor,
  type ClientCredentialsOptions,
  type ClientCredentials,
  clientCredentials,
} from './auth/client-credentials.js';

