/**
 * The TypeScript client's types (src/client/openapi.ts), generated from the live /openapi.json with
 * openapi-typescript. `npm run client:types` writes the file; test/client.test.ts generates it
 * again from a running instance's document and fails when the committed file differs.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import openapiTS, { astToString } from "openapi-typescript";

export const TYPES_FILE = path.resolve(import.meta.dirname, "../src/client/openapi.ts");

const HEADER = `/**
 * Types of baton's HTTP API, generated from GET /openapi.json by openapi-typescript.
 * Do not edit: run \`npm run client:types\` (test/client.test.ts fails while this file is stale).
 */
`;

/** The contents of src/client/openapi.ts for an OpenAPI document. */
export async function generateClientTypes(doc: unknown): Promise<string> {
  // The document is handed over as an object: openapi-typescript then reads nothing from disk or
  // the network. defaultNonNullable off: a field with a default is one a request may leave out
  // (the batch's `dedupe`), not one it must send.
  const ast = await openapiTS(doc as Parameters<typeof openapiTS>[0], { alphabetize: true, defaultNonNullable: false });
  return HEADER + astToString(ast);
}

/**
 * The document of an in-process app: the full service wiring (every plug-in's routes) on a
 * database pool that never connects, since building and serving /openapi.json queries nothing.
 */
async function liveDocument(): Promise<unknown> {
  const { loadConfig } = await import("../src/config.js");
  const { createLogger } = await import("../src/log.js");
  const { plugins } = await import("../src/plugins.js");
  const { createDatabase } = await import("../src/db/client.js");
  const { TaskCreator } = await import("../src/api/tasks/create.js");
  const { createApp } = await import("../src/api/app.js");
  const { VERSION } = await import("../src/service.js");
  const config = loadConfig({ DATABASE_URL: "postgres://baton@127.0.0.1:1/unused", HOST: "127.0.0.1", LOG_LEVEL: "silent" });
  const log = createLogger("silent", config.INSTANCE_ID);
  const database = createDatabase(config.DATABASE_URL!, 1);
  const creator = new TaskCreator(database);
  const core = { config, log, database, databaseUrl: config.DATABASE_URL!, worker: null, creator };
  const parts = plugins.map((p) => p.setup(core));
  const app = createApp(
    { config, database, log, version: VERSION, startedAt: new Date(), creator, worker: null },
    {
      middleware: parts.flatMap((e) => e.app?.middleware ?? []),
      routes: parts.flatMap((e) => e.app?.routes ?? []),
      statusSections: parts.flatMap((e) => e.app?.statusSections ?? []),
    },
  );
  const res = await app.request("/openapi.json");
  if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
  const doc = await res.json();
  await database.close();
  return doc;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  // With a URL: that instance's document (BATON_API_KEY when it needs a key); without: this tree's.
  const key = process.env.BATON_API_KEY;
  const doc = process.argv[2]
    ? await (await fetch(new URL("/openapi.json", process.argv[2]), { headers: key ? { authorization: `Bearer ${key}` } : {} })).json()
    : await liveDocument();
  writeFileSync(TYPES_FILE, await generateClientTypes(doc));
  process.stdout.write(`wrote ${path.relative(process.cwd(), TYPES_FILE)}\n`);
}
