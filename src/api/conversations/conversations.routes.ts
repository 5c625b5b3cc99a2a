/** Conversations: child records of a task. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import {
  addConversations,
  deleteConversation,
  listConversations,
  updateConversation,
} from "../../db/queries/conversations.js";
import { requireTask } from "../../db/queries/tasks.js";
import type { AppDeps, AppEnv } from "../deps.js";
import { body, json } from "../http.js";
import { ConversationSchema, conversationJson, IdParam, problemResponses, text } from "../schemas.js";
import { ConversationInput } from "../tasks/tasks.schemas.js";

const AddBody = z
  .union([ConversationInput, z.object({ items: z.array(ConversationInput).min(1).max(1000) }).strict()])
  .openapi("AddConversations");

const PatchConversation = z
  .object({ role: text(100).optional(), content: text(100_000).optional(), status: text(100).optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "give at least one field to change")
  .openapi("PatchConversation");

export function conversationRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tasks/{id}/conversations",
      operationId: "listConversations",
      tags: ["conversations"],
      summary: "A task's conversations, oldest first",
      request: { params: IdParam },
      responses: { 200: json(z.object({ items: z.array(ConversationSchema) }), "Conversations"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireTask(db, id);
      return c.json({ items: (await listConversations(db, id)).map(conversationJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks/{id}/conversations",
      operationId: "addConversations",
      tags: ["conversations"],
      summary: "Append one conversation, or several as {items: [...]}",
      request: { params: IdParam, body: body(AddBody) },
      responses: { 201: json(z.object({ items: z.array(ConversationSchema) }), "Created"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const b = c.req.valid("json");
      await requireTask(db, id);
      const items = "items" in b ? b.items : [b];
      return c.json({ items: (await addConversations(db, id, items)).map(conversationJson) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/conversations/{id}",
      operationId: "updateConversation",
      tags: ["conversations"],
      summary: "Edit a conversation",
      request: { params: IdParam, body: body(PatchConversation) },
      responses: { 200: json(ConversationSchema, "The conversation"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => c.json(conversationJson(await updateConversation(db, c.req.valid("param").id, c.req.valid("json"))), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/conversations/{id}",
      operationId: "deleteConversation",
      tags: ["conversations"],
      summary: "Delete a conversation",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      await deleteConversation(db, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
  return app;
}
