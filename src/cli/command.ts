/**
 * What every CLI command is made of: the Command shape main.ts parses and dispatches, the Context
 * a command runs with, and the small argument and output helpers the command files share.
 */
import type { ParseArgsOptionsConfig } from "node:util";
import type { BatonClient } from "../client/index.js";

/** A malformed command line: main.ts prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

export interface Context {
  client: () => BatonClient;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves on Ctrl-C (SIGINT) or SIGTERM: when a following command should end. */
  interrupted: AbortSignal;
}

export interface Command {
  name: string;
  args: string[];
  summary: string;
  options: ParseArgsOptionsConfig;
  /** Lines of help after the usage line. */
  help?: string[];
  /** Resolves to the exit code. */
  run(ctx: Context): Promise<number>;
}

/** An integer flag, undefined when absent; anything else than digits is a usage error. */
export function int(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer`);
  return Number(v);
}

/**
 * A comma-separated list of task ids (`--depends-on 41,42`), undefined when absent. Each part must
 * be digits (spaces around the commas are allowed); an empty part or anything else is a usage
 * error. Whether an id is in range and names a task is the server's to say.
 */
export function ids(name: string, v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = typeof v === "string" ? v.split(",").map((p) => p.trim()) : [];
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)))) {
    throw new UsageError(`--${name} must be task ids separated by commas (e.g. 41,42), got '${typeof v === "string" ? v : ""}'`);
  }
  return parts.map(Number);
}

/** A flag that takes one of `choices`, undefined when absent; another value is a usage error. */
export function oneOf<const T extends string>(name: string, v: string | boolean | undefined, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be ${choices.join(" or ")}`);
  return v as T;
}

/** A string flag, undefined when absent. */
export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Prints `data` as JSON with --json, else `text()`; the exit code 0. */
export function print(ctx: Context, data: unknown, text: () => string): number {
  ctx.out(ctx.json ? JSON.stringify(data, null, 2) : text());
  return 0;
}
