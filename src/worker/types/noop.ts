/** noop: does nothing. For benchmarks and smoke tests. */
import { z } from "zod";
import { registerTaskType } from "../registry.js";

export const noop = registerTaskType({
  name: "noop",
  description: "Does nothing and succeeds. Used by benchmarks.",
  params: z.object({}).passthrough(),
  handler: async () => null,
});
