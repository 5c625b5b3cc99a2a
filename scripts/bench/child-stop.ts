/** Shutdown of a bench child: on SIGTERM, SIGINT or the orchestrator going away, stop once and exit. */
export function exitOnStop(stop: () => Promise<unknown>): void {
  let stopping = false;
  const onStop = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  process.on("disconnect", onStop);
}
