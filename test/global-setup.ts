/**
 * Global setup: find a Postgres (TEST_DATABASE_URL, or an embedded one started here), migrate a
 * template database once, and hand its name to the test files, which each clone it
 * (CREATE DATABASE ... TEMPLATE, graphile-worker's pattern). The template name carries the pid,
 * so concurrent test runs against one server do not collide.
 */
import net from "node:net";
import type { TestProject } from "vitest/node";
import { createSql } from "../src/db/client.js";
import { type EmbeddedHandle, startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";

let embedded: EmbeddedHandle | null = null;
let adminUrl = "";
let template = "";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    adminUrl = process.env.TEST_DATABASE_URL;
  } else {
    embedded = await startEmbeddedPostgres({ dir: ".data/test-pg", port: await freePort(), database: "postgres" });
    adminUrl = embedded.url;
  }
  template = `baton_tpl_${process.pid}`;
  const admin = createSql(adminUrl, 1);
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  const tplUrl = withDb(adminUrl, template);
  const tpl = createSql(tplUrl, 2);
  await migrate(tpl, tplUrl);
  await tpl.end();
  await admin.end();
  project.provide("adminUrl", adminUrl);
  project.provide("template", template);
  return async () => {
    const a = createSql(adminUrl, 1);
    await a.unsafe(`drop database if exists ${template} with (force)`).catch(() => {});
    const left = await a<{ datname: string }[]>`select datname from pg_database where datname like ${`baton_t${process.pid}_%`}`;
    for (const r of left) await a.unsafe(`drop database if exists "${r.datname}" with (force)`).catch(() => {});
    await a.end();
    await embedded?.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    template: string;
  }
}
