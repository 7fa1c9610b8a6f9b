// One loopback TCP proxy for every package's fault tests: the test kit's.
export { TcpProxy } from '@switchyard/testkit';
