/**
 * Progress bars: a task's last ctx.progress() ({percent, message, at}, stored at most once a
 * second) as a native <progress> element, whose role (progressbar), value and range assistive
 * technology reads without ARIA; the percentage and message are also given as text. They sit in
 * live regions, so each re-render after a change of baton.tasks moves them.
 */
import type { FC } from "hono/jsx";
import type { Progress, TaskStatus } from "../db/types.js";
import { Time } from "./layout.js";

/** 40%, 12.5% (static/graph.js writes it the same way). */
export function fmtProgress(percent: number): string {
  const p = Math.min(100, Math.max(0, percent));
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

/** The task page's bar: labelled, with the message and when it was reported. */
export const TaskProgress: FC<{ progress: Progress; status: TaskStatus }> = ({ progress, status }) => (
  <div class="progress" id="task-progress-box" data-percent={String(progress.percent)}>
    <label for="task-progress">Progress</label>
    <progress id="task-progress" max={100} value={progress.percent} aria-describedby="task-progress-text">
      {fmtProgress(progress.percent)}
    </progress>
    <span id="task-progress-text" class="progress-text">
      <strong>{fmtProgress(progress.percent)}</strong>
      {progress.message ? ` · ${progress.message}` : ""}
      <span class="muted">
        {" "}
        ({status === "processing" ? "reported" : "last reported"} <Time at={progress.at} age />)
      </span>
    </span>
  </div>
);

/** A small bar for a row of the tasks list (processing tasks that report progress). */
export const RowProgress: FC<{ taskId: number; progress: Progress }> = ({ taskId, progress }) => (
  <span class="row-progress">
    <progress max={100} value={progress.percent} aria-label={`Progress of task ${taskId}`} title={progress.message ?? undefined}>
      {fmtProgress(progress.percent)}
    </progress>{" "}
    <span class="small">{fmtProgress(progress.percent)}</span>
  </span>
);
