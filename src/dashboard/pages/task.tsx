/** "/tasks/:id": the task, its conversations and its execution log, with cancel / retry / delete. */
import type { FC } from "hono/jsx";
import type { Conversation, Task, TaskLog } from "../../db/types.js";
import { CANCELABLE, RETRYABLE } from "../../domain/tasks.js";
import { fmtDuration, fmtJson } from "../format.js";
import { EmptyRow, StatusBadge, Time } from "../layout.js";

export interface TaskDetailData {
  task: Task;
  conversations: Conversation[];
  logs: TaskLog[];
}

export const TaskDetail: FC<{ data: TaskDetailData }> = ({ data }) => {
  const t = data.task;
  return (
    <div id="live-task" data-live="" data-task-id={String(t.id)} data-status={t.status}>
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
