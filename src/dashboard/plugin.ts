/**
 * The dashboard plug-in: pages, /events (SSE fed by LISTEN baton_events) and static assets. The
 * notifications settings it shows on /settings come from the notifications plug-in.
 */
import type { Plugin } from "../service.js";
import { EventHub } from "./events.js";
import { dashboardRoutes } from "./routes.js";

export const dashboardPlugin: Plugin = {
  name: "dashboard",
  setup(core) {
    const log = core.log.child({ component: "dashboard" });
    const hub = new EventHub({ sql: core.database.session, db: core.database.db, log, instanceId: core.config.INSTANCE_ID });
    return {
      components: [hub],
      app: {
        routes: [dashboardRoutes({ config: core.config, db: core.database.db, hub, log })],
        statusSections: [
          async () => ["dashboard", { sseClients: hub.clientCount, notifications: hub.notifications, refreshes: hub.refreshes, idleRefreshes: hub.idleRefreshes }],
        ],
      },
    };
  },
};
