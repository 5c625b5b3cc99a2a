/** Queries on baton.settings: one jsonb value per key, shared by every instance. */
import { type Kysely, sql } from "kysely";
import type { DB } from "../types.js";

type Q = Kysely<DB>;

/** The stored value of a setting, or undefined when it was never set. */
export async function getSetting(db: Q, key: string): Promise<{ value: unknown; updatedAt: Date } | undefined> {
  return db.selectFrom("baton.settings").select(["value", "updatedAt"]).where("key", "=", key).executeTakeFirst();
}

/** Inserts or replaces a setting; returns the time of the change. */
export async function putSetting(db: Q, key: string, value: unknown): Promise<Date> {
  const row = await db
    .insertInto("baton.settings")
    // The object itself as the parameter: postgres.js serialises it for the jsonb column (a
    // pre-stringified value would be stored as a JSON string).
    .values({ key, value, updatedAt: sql`now()` } as never)
    .onConflict((oc) => oc.column("key").doUpdateSet({ value: sql`excluded.value`, updatedAt: sql`now()` } as never))
    .returning("updatedAt")
    .executeTakeFirstOrThrow();
  return row.updatedAt;
}
