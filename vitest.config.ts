import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/helpers/leaks.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Multi-process tests start real instances; on a 2-core box, files run one at a time so
    // one file's load does not starve another's deadlines.
    fileParallelism: false,
    reporters: ["default"],
  },
});
