/**
 * Process entry: validate config, refuse an unsafe bind, start the service, drain on SIGTERM or
 * SIGINT and exit 0.
 */
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { plugins } from "./plugins.js";
import { type Service, startService } from "./service.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`baton: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL, config.INSTANCE_ID);
  // An exception nobody caught leaves the process in an unknown state: log it, exit non-zero, and
  // let the supervisor restart us (recovery hands this instance's tasks to another one).
  process.on("uncaughtException", (err, origin) => {
    log.fatal({ err, origin }, "uncaught exception; exiting");
    process.exit(1);
  });
  const loopback = ["127.0.0.1", "localhost", "::1"].includes(config.HOST);
  if (config.API_KEY_HASHES.length === 0) {
    if (!loopback) {
      process.stderr.write(
        `baton: refusing to listen on ${config.HOST} without API keys. Set API_KEY_HASHES (npm run keygen) or HOST=127.0.0.1.\n`,
      );
      process.exit(1);
    }
    log.warn("no API_KEY_HASHES configured: the API is open, so baton listens on loopback only");
  }
  // Signals are handled from the start: one that arrives while the service is still starting
  // (migrating, waiting for the embedded Postgres) drains it as soon as it is up, instead of
  // killing the process with the default action and leaving what it started behind.
  let service: Service | null = null;
  let signals = 0;
  const drain = (svc: Service) => {
    // A drain that outlives its budget by far is stuck: say where, and leave with an error code
    // rather than hang (the supervisor would otherwise have to kill -9 us).
    const budget = config.SHUTDOWN_TIMEOUT_MS + 15_000;
    setTimeout(() => {
      log.error({ phase: svc.stopPhase(), budgetMs: budget }, "shutdown is stuck; exiting");
      process.exit(1);
    }, budget).unref();
    svc.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ sig }, "second signal: exiting now");
      process.exit(1);
    }
    log.info({ sig }, service ? "signal received; draining" : "signal received while starting; draining once started");
    if (service) drain(service);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  service = await startService(config, { plugins, log });
  if (signals > 0) drain(service);
}

main().catch((err) => {
  process.stderr.write(`baton: failed to start: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
