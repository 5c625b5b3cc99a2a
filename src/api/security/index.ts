/**
 * Security plug-in: security headers, API-key auth (with the /login cookie for browsers), the
 * per-key rate limit, the raw JSON body guard and Idempotency-Key support, in that order, before
 * every route; plus the idempotency-key pruner. See README "Security".
 */
import type { Plugin } from "../../service.js";
import { authMiddleware, loginRoutes } from "./auth.js";
import { securityHeaders } from "./headers.js";
import { IdempotencyPruner, idempotency } from "./idempotency.js";
import { jsonGuard } from "./json-guard.js";
import { KeyRing } from "./keys.js";
import { rateLimit } from "./ratelimit.js";

export const securityPlugin: Plugin = {
  name: "security",
  setup(core) {
    const keys = new KeyRing(core.config.API_KEY_HASHES);
    const log = core.log.child({ component: "security" });
    return {
      components: [new IdempotencyPruner(core.database.db, log)],
      app: {
        middleware: [
          securityHeaders(),
          authMiddleware(keys, core.config.PUBLIC_DASHBOARD),
          rateLimit(core.config.RATE_LIMIT_PER_MINUTE),
          jsonGuard(),
          idempotency(core.database.db, log, core.config.IDEMPOTENCY_TTL_SECONDS),
        ],
        routes: [loginRoutes(keys)],
      },
    };
  },
};
