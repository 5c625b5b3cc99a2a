/**
 * After each file: no baton service started in-process is still running (graphile-worker's
 * own tests check for leaked pools the same way).
 */
import { afterAll, expect } from "vitest";
import { liveServices } from "./service.js";

afterAll(() => {
  expect(liveServices(), "a service started by this file was not stopped").toEqual([]);
});
