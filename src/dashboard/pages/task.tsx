/**
 * "/tasks/:id": the task with cancel / retry / delete and its progress, its workflow graph (when
 * it has dependencies), its fields, conversations and execution log.
 *
 * Two live regions (#live-task, #live-task-details) are re-rendered after changes; the graph
 * between them is not (static/graph.js keeps it current from the graph API), so a live re-render
 * does not lay out a large workflow again. `data-links` on #live-task and #workflow-slot is the
 * shape of the task's own dependencies: when a re-render shows a different one, the script
 * re-reads the graph.
 */
import type { FC } from "hono/jsx";
import type { Conversation, Task, TaskLog } from "../../db/types.js";
import { CANCELABLE, RETRYABLE } from "../../domain/tasks.js";
import { fmtDuration, fmtInt, fmtJson } from "../format.js";
import { EmptyRow, StatusBadge, Time } from "../layout.js";
import { TaskProgress } from "../progress.js";
import { graphShape } from "../workflow.js";
import { WorkflowGraph, type WorkflowData } from "./workflow.js";

export interface TaskDetailData {
  task: Task;
  conversations: Conversation[];
  logs: TaskLog[];
  dependsOn: number[];
  dependents: number[];
  /** The workflow to draw; null without dependencies, or on a live re-render (which skips it). */
  graph: WorkflowData | null;
}

/** Task ids linked to their pages, the first `max` of them. */
const TaskLinks: FC<{ ids: number[]; max?: number }> = ({ ids, max = 20 }) =>
  ids.length === 0 ? (
    <>–</>
  ) : (
    <>
      {ids.slice(0, max).map((id, i) => (
        <>
          {i > 0 && ", "}
          <a href={`/tasks/${id}`}>{`#${id}`}</a>
        </>
      ))}
      {ids.length > max && ` and ${fmtInt(ids.length - max)} more`}
    </>
  );

/** The fingerprint of a task's own dependencies (see the module comment). */
export const linksShape = (d: Pick<TaskDetailData, "dependsOn" | "dependents">) => graphShape([...d.dependsOn, ...d.dependents], []);

export const TaskDetail: FC<{ data: TaskDetailData }> = ({ data }) => (
  <>
    <TaskSummary data={data} />
    <div id="workflow-slot" data-links={linksShape(data)}>
      {data.graph && <WorkflowGraph taskId={data.task.id} data={data.graph} />}
    </div>
    <TaskDetails data={data} />
  </>
);

const TaskSummary: FC<{ data: TaskDetailData }> = ({ data }) => {
  const t = data.task;
  return (
    <div id="live-task" data-live="" data-task-id={String(t.id)} data-status={t.status} data-links={linksShape(data)}>
      <p class="lead">
        <StatusBadge status={t.status} /> <span class="title-text">{t.title || "(untitled)"}</span>
      </p>
      <div class="toolbar">
        {CANCELABLE.has(t.status) && (
          <button type="button" data-action="cancel" data-id={String(t.id)}>
            Cancel task
          </button>
        )}
        {RETRYABLE.has(t.status) && (
          <button type="button" data-action="retry" data-id={String(t.id)}>
            Retry task
          </button>
        )}
        {t.status !== "processing" && (
          <button type="button" data-action="delete" data-id={String(t.id)} class="danger">
            Delete task
          </button>
        )}
        <a href={`/api/tasks/${t.id}`}>JSON</a>
      </div>
      {t.progress && <TaskProgress progress={t.progress} status={t.status} />}
    </div>
  );
};

const TaskDetails: FC<{ data: TaskDetailData }> = ({ data }) => {
  const t = data.task;
  return (
    <div id="live-task-details" data-live="">
      <section aria-labelledby="h-fields">
        <h2 id="h-fields">Details</h2>
        <dl class="fields">
          <dt>Type</dt>
          <dd>{t.type}</dd>
          <dt>Priority</dt>
          <dd>{t.priority}</dd>
          <dt>Queue</dt>
          <dd>{t.queue ?? "–"}</dd>
          <dt>Attempts</dt>
          <dd>
            {t.attempts} of {t.maxAttempts}
          </dd>
          <dt>Run at</dt>
          <dd>
            <Time at={t.runAt} />
          </dd>
          <dt>Created</dt>
          <dd>
            <Time at={t.createdAt} />
          </dd>
          <dt>Started</dt>
          <dd>
            <Time at={t.startedAt} />
          </dd>
          <dt>Finished</dt>
          <dd>
            <Time at={t.finishedAt} />
          </dd>
          <dt>Running on</dt>
          <dd>{t.lockedBy ?? "–"}</dd>
          <dt>Schedule</dt>
          <dd>{t.scheduleId ? <a href={`/schedules#schedule-${t.scheduleId}`}>{`#${t.scheduleId}`}</a> : "–"}</dd>
          <dt>Timeout</dt>
          <dd>{t.timeoutMs ? fmtDuration(t.timeoutMs) : "–"}</dd>
          <dt>Backoff</dt>
          <dd>
            {fmtDuration(t.backoff.baseMs)} doubling, at most {fmtDuration(t.backoff.maxMs)}
          </dd>
          <dt>Dedupe key</dt>
          <dd class="wrap">{t.dedupeKey ?? "–"}</dd>
          <dt>Depends on</dt>
          <dd>
            <TaskLinks ids={data.dependsOn} />
          </dd>
          <dt>Dependents</dt>
          <dd>
            <TaskLinks ids={data.dependents} />
          </dd>
          {(data.dependsOn.length > 0 || t.onParentFailure !== "cancel") && (
            <>
              <dt>On parent failure</dt>
              <dd>{t.onParentFailure === "cancel" ? "cancel this task" : "run it anyway"}</dd>
            </>
          )}
          {t.canceledBy !== null && (
            <>
              <dt>Canceled by</dt>
              <dd>
                <a href={`/tasks/${t.canceledBy}`}>{`#${t.canceledBy}`}</a> failed or was canceled; retrying it brings this task back
              </dd>
            </>
          )}
        </dl>
        {t.description && <p class="description">{t.description}</p>}
        {t.lastError && (
          <>
            <h3>Last error</h3>
            <pre class="error-text">{t.lastError}</pre>
          </>
        )}
        <h3>Payload</h3>
        <pre>{fmtJson(t.payload)}</pre>
        {t.result !== null && t.result !== undefined && (
          <>
            <h3>Result</h3>
            <pre>{fmtJson(t.result)}</pre>
          </>
        )}
      </section>
      <section aria-labelledby="h-conv">
        <h2 id="h-conv">Conversations ({data.conversations.length})</h2>
        <div class="scroll">
          <table>
            <caption class="sr-only">Conversations of this task</caption>
            <thead>
              <tr>
                <th scope="col" class="num">
                  ID
                </th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Content</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.conversations.length === 0 && <EmptyRow cols={5}>None.</EmptyRow>}
              {data.conversations.map((c) => (
                <tr>
                  <td class="num">{c.id}</td>
                  <td>{c.role}</td>
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  <td class="content">{c.content.length > 2000 ? `${c.content.slice(0, 2000)}…` : c.content}</td>
                  <td>
                    <Time at={c.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="h-logs">
        <h2 id="h-logs">Execution log</h2>
        <div class="scroll">
          <table>
            <caption class="sr-only">Log rows of this task, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col" class="num">
                  Attempt
                </th>
                <th scope="col">Event</th>
                <th scope="col">Instance</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {data.logs.length === 0 && <EmptyRow cols={6}>No log rows yet.</EmptyRow>}
              {data.logs.map((l) => (
                <tr>
                  <td>
                    <Time at={l.createdAt} />
                  </td>
                  <td class="num">{l.attempt}</td>
                  <td>
                    <StatusBadge status={l.event} />
                    {l.source === "api" && <span class="muted"> (api)</span>}
                  </td>
                  <td>{l.instanceId ?? "–"}</td>
                  <td class="num">{l.durationMs === null ? "–" : fmtDuration(l.durationMs)}</td>
                  <td class="content">{l.message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
};
