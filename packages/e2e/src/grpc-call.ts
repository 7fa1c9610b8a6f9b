import type * as grpc from '@grpc/grpc-js';

/** Calls a unary method of a proto-loader client and returns a promise. */
export function unary<Res>(client: grpc.Client, method: string, request: object, deadlineMs = 10_000): Promise<Res> {
  const fn = (client as unknown as Record<string, Function>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, request, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}
