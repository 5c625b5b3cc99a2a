/** What every stage of a run works with: options, results, the systems, the server, output. */
import type { BenchOptions } from "./options.js";
import type { Server } from "./postgres.js";
import type { Results } from "./results.js";
import type { Baton, Boss, Bull, Graphile, System, WorkerConfig } from "./systems.js";

export interface Bench {
  o: BenchOptions;
  r: Results;
  /** The systems of the run, by name. */
  systems: Record<string, System>;
  /** The same, typed, for stages that call a system's own API (enqueue). */
  named: { baton: Baton; gw?: Graphile; boss?: Boss; bull?: Bull };
  /** The worker configurations of the run. */
  configs: WorkerConfig[];
  server: Server;
  logDir: string;
  say: (s: string) => void;
  /** Writes the results so far (after every configuration, so an interrupted run keeps them). */
  save: () => void;
}
