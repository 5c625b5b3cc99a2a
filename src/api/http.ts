/** Small helpers for route definitions. */
import { OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { AppEnv, Handler } from "./deps.js";

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const body = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

/**
 * A route group: every definition of a `*.routes.ts` module with the handler of the same name.
 * The handler map must cover each route with a handler typed by it, so a route without one, or a
 * handler whose responses disagree with its definition, does not compile.
 */
export function mount<R extends Record<string, RouteConfig>>(routes: R, handlers: { [K in keyof R]: Handler<R[K]> }): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  for (const name of Object.keys(routes) as (keyof R & string)[]) app.openapi(routes[name], handlers[name]);
  return app;
}
