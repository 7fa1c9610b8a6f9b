/**
 * Resolves with the first SIGINT or SIGTERM. A second one while the caller is
 * still shutting down runs `onRepeat`, so an impatient Ctrl-C still ends
 * things even when a graceful stop hangs.
 */
export function waitForSignal(onRepeat: (signal: NodeJS.Signals) => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (received) return onRepeat(signal);
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
