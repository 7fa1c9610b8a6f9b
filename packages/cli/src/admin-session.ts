import { AdminClient } from './admin-client.js';
import { resolveControlPlane, type ControlPlaneFlags } from './control-plane-address.js';

/** Finds the control plane, connects, runs `fn` and always closes the connection. */
export async function withAdmin<T>(flags: ControlPlaneFlags, fn: (admin: AdminClient) => Promise<T>): Promise<T> {
  const { address, source } = resolveControlPlane(flags);
  const admin = AdminClient.connect(address, { source });
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}
