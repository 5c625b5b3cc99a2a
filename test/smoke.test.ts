import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url);
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

describe("smoke", () => {
  it("serves health and ready", async () => {
    expect((await api(svc.url, "GET", "/health")).status).toBe(200);
    const r = await api(svc.url, "GET", "/ready");
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("ready");
  });

  it("runs a task to completion", async () => {
    const r = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "x" });
    expect(r.status).toBe(201);
    const done = await waitFor(async () => {
      const t = await api(svc.url, "GET", `/api/tasks/${r.body.id}`);
      return t.body.status === "completed" ? t.body : null;
    });
    expect(done.attempts).toBe(1);
    expect(done.logs.map((l: { event: string }) => l.event)).toEqual(["succeeded"]);
  });
});
