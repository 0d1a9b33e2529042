/**
 * Ctrl-C / SIGTERM handling. The first signal aborts the controller: services stop between
 * batches and the running statement is cancelled on the server (see cancelOnAbort), so the step
 * rolls back and the command exits 2 with "rerun to finish". A second signal exits at once.
 */
export function installInterruptHandler(
  controller: AbortController,
  stderr: NodeJS.WritableStream,
): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      stderr.write(
        `\ndbops: ${signal} again, exiting now; the server rolls back the open transaction\n`,
      );
      process.exit(2);
    }
    stderr.write(
      `\ndbops: ${signal} received, cancelling the running statement (again to force exit)\n`,
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
