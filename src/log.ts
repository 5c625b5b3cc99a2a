/** The pino root logger; components take child loggers carrying {component, instanceId, taskId}. */
import { pino, stdTimeFunctions, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, instanceId: string): Logger {
  return pino({
    level,
    base: { instanceId },
    timestamp: stdTimeFunctions.isoTime,
  });
}
