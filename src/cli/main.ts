/**
 * `baton …`: the command line (package.json `bin`, through bin/baton.mjs). Reads BATON_URL
 * (default http://127.0.0.1:3000) and BATON_API_KEY, or --url and --api-key. Prints tables for
 * people and JSON with --json. Exit codes: 0 success, 1 a problem (its detail on stderr), 2 a
 * usage error (unknown command or flag, missing or malformed argument).
 */
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { BatonProblem, createClient } from "../client/index.js";
import { type Command, UsageError } from "./command.js";
import { COMMANDS } from "./commands.js";

const GLOBAL: ParseArgsOptionsConfig = {
  url: { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};
const GLOBAL_HELP = [
  "--url URL       baton's address (BATON_URL, default http://127.0.0.1:3000)",
  "--api-key KEY   API key (BATON_API_KEY)",
  "--json          JSON output for scripts",
  "-h, --help      this help",
];

const usage = (c: Command) => `baton ${c.name}${c.args.map((a) => ` ${a}`).join("")}${Object.keys(c.options).length ? " [options]" : ""}`;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => usage(c).length));
  return [
    "baton: Postgres-native job coordinator",
    "",
    "Usage: baton <command> [options]",
    "",
    ...COMMANDS.map((c) => `  ${usage(c).padEnd(width)}  ${c.summary}`),
    "",
    "Options of every command:",
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    "",
    "baton <command> --help shows a command's own options.",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return [`Usage: ${usage(c)}`, "", c.summary, ...(c.help?.length ? ["", ...c.help.map((l) => (l ? `  ${l}` : ""))] : []), "", ...GLOBAL_HELP.map((l) => `  ${l}`)].join(
    "\n",
  );
}

/** The command named by the first one or two words of argv, and the arguments after them. */
function resolve(argv: string[]): { command: Command; rest: string[] } | null {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return null;
}

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[], io = { out: (s: string) => process.stdout.write(`${s}\n`), err: (s: string) => process.stderr.write(`${s}\n`) }): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    (argv.length === 0 ? io.err : io.out)(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const found = resolve(argv);
  if (!found) {
    io.err(`baton: unknown command '${argv.slice(0, 2).join(" ")}'\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`baton ${command.name}: ${(err as Error).message}\nsee: baton ${command.name} --help`);
    return 2;
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) {
    io.out(commandHelp(command));
    return 0;
  }
  if (parsed.positionals.length !== command.args.length) {
    const want = command.args.length ? command.args.join(" ") : "no arguments";
    io.err(`baton ${command.name}: expects ${want}, got ${parsed.positionals.length ? parsed.positionals.join(" ") : "none"}\nusage: ${usage(command)}`);
    return 2;
  }
  const baseUrl = (typeof flags.url === "string" ? flags.url : process.env.BATON_URL) || "http://127.0.0.1:3000";
  const apiKey = (typeof flags["api-key"] === "string" ? flags["api-key"] : process.env.BATON_API_KEY) || undefined;
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await command.run({
      client: () => createClient({ baseUrl, apiKey }),
      args: parsed.positionals,
      flags,
      json: flags.json === true,
      out: io.out,
      err: io.err,
      interrupted: interrupt.signal,
    });
  } catch (err) {
    return report(err, command, baseUrl, io.err);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** An error as the exit code and the lines on stderr: 2 for usage, 1 for everything else. */
function report(err: unknown, command: Command, baseUrl: string, write: (s: string) => void): number {
  if (err instanceof UsageError) {
    write(`baton ${command.name}: ${err.message}\nsee: baton ${command.name} --help`);
    return 2;
  }
  if (err instanceof BatonProblem) {
    const lines = [`baton: ${err.detail} (${err.status} ${err.title})`];
    for (const e of err.errors ?? []) if (!err.detail.includes(e.message)) lines.push(`  ${e.field}: ${e.message}`);
    write(lines.join("\n"));
    return 1;
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TypeError" && e.cause) {
    write(`baton: cannot reach ${baseUrl}: ${e.cause.code ?? e.cause.message ?? e.message}`);
    return 1;
  }
  write(`baton: ${e?.message ?? String(err)}`);
  return 1;
}

// Run when executed directly (bin/baton.mjs imports this module and calls run() itself). A
// finished command exits at once: no keep-alive socket or timer holds the process open.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
