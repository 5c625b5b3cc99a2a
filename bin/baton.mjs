#!/usr/bin/env node
/**
 * The `baton` command (package.json `bin`). Runs the compiled CLI (dist/src/cli/main.js), building
 * it first when it is missing or stale, so a command starts as plain JavaScript, without a
 * TypeScript loader.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBuild, root } from "../scripts/build-if-stale.mjs";

const entry = path.join(root, "dist", "src", "cli", "main.js");
ensureBuild(entry);
const { run } = await import(pathToFileURL(entry).href);
process.exit(await run(process.argv.slice(2)));
