/**
 * Notifications: the settings API and the `notify` delivery type. Deliveries are queued by the
 * database (migrations/0005_events.sql), so this plug-in has no long-running component.
 */
import { registerPlugin } from "../service.js";
import { notifyRoutes } from "./notify.routes.js";
import "./notify.type.js";

registerPlugin((core) => ({
  app: { routes: [notifyRoutes({ database: core.database, creator: core.creator, instanceId: core.config.INSTANCE_ID })] },
}));
