/**
 * Notifications: the settings API and the `notify` delivery type. Deliveries are queued by the
 * database (migrations/0005_events.sql), so this plug-in has no long-running component.
 */
import type { Plugin } from "../service.js";
import { notifyRoutes } from "./notify.routes.js";
// The `notify` task type registers itself in the task-type registry, like every built-in type.
import "./notify.type.js";

export const notifyPlugin: Plugin = {
  name: "notifications",
  setup: (core) => ({
    app: { routes: [notifyRoutes({ database: core.database, creator: core.creator, instanceId: core.config.INSTANCE_ID })] },
  }),
};
