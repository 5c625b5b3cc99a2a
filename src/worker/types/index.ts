/** Imports every built-in task type so each registers itself. Add a new type's file here. */
import "./http.js";
import "./noop.js";
import "./release.js";
import "./simulate.js";
