/**
 * Drops one Node warning the CLI cannot act on: grpc-js sets the TLS server
 * name to the target host even when it is an IP address (127.0.0.1 with
 * --tls-ca), and Node calls that deprecated (DEP0123). Certificates with IP
 * subjectAltNames verify fine; the warning would only confuse people.
 */
export function ignoreTlsServernameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const options = rest[0];
    const code = typeof options === 'object' && options !== null ? (options as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
