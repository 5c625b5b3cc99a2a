/**
 * The dashboard plug-in: pages, /events (SSE fed by LISTEN baton_events) and static assets, plus
 * the notifications plug-in it shows on /settings. src/plugins.ts imports this module.
 */
import { registerPlugin } from "../service.js";
import { EventHub } from "./events.js";
import { dashboardRoutes } from "./routes.js";
import "../notify/plugin.js";

registerPlugin((core) => {
  const hub = new EventHub({
    sql: core.database.sql,
    db: core.database.db,
    log: core.log.child({ component: "dashboard" }),
    instanceId: core.config.INSTANCE_ID,
  });
  return {
    components: [hub],
    app: {
      routes: [dashboardRoutes({ config: core.config, db: core.database.db, hub, log: core.log.child({ component: "dashboard" }) })],
      statusSections: [async () => ["dashboard", { sseClients: hub.clientCount, notifications: hub.notifications, refreshes: hub.refreshes, idleRefreshes: hub.idleRefreshes }]],
    },
  };
});
