#!/usr/bin/env node
/**
 * `npm start` (and `baton start`): compile only when the build is missing or older than its
 * sources (scripts/build-if-stale.mjs), then run it.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBuild, root } from "./build-if-stale.mjs";

const entry = path.join(root, "dist", "src", "main.js");
ensureBuild(entry);
await import(pathToFileURL(entry).href);
