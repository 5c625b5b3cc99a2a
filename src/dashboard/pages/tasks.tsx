/**
 * "/tasks": filter by status and type, search titles, keyset pages, and bulk cancel / retry /
 * delete of the checked rows (the page script calls the task API once per selected task). A
 * processing task that reports progress shows a bar under its status.
 */
import type { FC } from "hono/jsx";
import type { Task } from "../../db/types.js";
import { TASK_STATUSES } from "../../domain/tasks.js";
import { fmtInt } from "../format.js";
import { EmptyRow, StatusBadge, Time } from "../layout.js";
import { RowProgress } from "../progress.js";

export interface TaskListData {
  items: Task[];
  total: number;
  /** Past 10,000 matches the list API gives the planner's estimate. */
  totalEstimated: boolean;
  nextHref: string | null;
  firstHref: string | null;
  filter: { status: string; type: string; search: string };
  types: string[];
}

export const TaskFilter: FC<{ data: TaskListData }> = ({ data }) => (
  <form class="filters" method="get" action="/tasks" aria-label="Filter tasks">
    <div class="field">
      <label for="f-status">Status</label>
      <select id="f-status" name="status">
        <option value="">any</option>
        {TASK_STATUSES.map((s) => (
          <option value={s} selected={data.filter.status === s}>
            {s}
          </option>
        ))}
      </select>
    </div>
    <div class="field">
      <label for="f-type">Type</label>
      <select id="f-type" name="type">
        <option value="">any</option>
        {data.types.map((t) => (
          <option value={t} selected={data.filter.type === t}>
            {t}
          </option>
        ))}
      </select>
    </div>
    <div class="field grow">
      <label for="f-search">Title contains</label>
      <input id="f-search" name="search" type="search" value={data.filter.search} maxlength={200} />
    </div>
    <div class="field">
      <button type="submit">Apply</button>
    </div>
  </form>
);

export const TaskList: FC<{ data: TaskListData }> = ({ data }) => (
  <>
    <TaskFilter data={data} />
    <form id="bulk" class="bulk" aria-label="Bulk actions" data-bulk-form="">
      <div class="toolbar">
        <span id="selected-count" aria-live="polite">
          0 selected
        </span>
        <button type="button" data-bulk="cancel">
          Cancel selected
        </button>
        <button type="button" data-bulk="retry">
          Retry selected
        </button>
        <button type="button" data-bulk="delete" class="danger">
          Delete selected
        </button>
      </div>
      <div id="live-tasks" data-live="">
        <p class="muted" id="task-total">
          {data.totalEstimated ? "About " : ""}
          {fmtInt(data.total)} task{data.total === 1 ? "" : "s"} match.
        </p>
        <div class="scroll">
          <table class="tasks">
            <caption class="sr-only">Tasks, newest first</caption>
            <thead>
              <tr>
                <th scope="col" class="check">
                  <input type="checkbox" id="select-all" aria-label="Select all tasks on this page" data-select-all="" />
                </th>
                <th scope="col" class="num">
                  ID
                </th>
                <th scope="col">Title</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Priority
                </th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.items.length === 0 && <EmptyRow cols={8}>No task matches.</EmptyRow>}
              {data.items.map((t) => (
                <tr data-task-id={String(t.id)} data-status={t.status}>
                  <td class="check">
                    <input type="checkbox" name="id" value={String(t.id)} aria-label={`Select task ${t.id}`} />
                  </td>
                  <td class="num">
                    <a href={`/tasks/${t.id}`}>{t.id}</a>
                  </td>
                  <td>
                    <a href={`/tasks/${t.id}`}>{t.title || <span class="muted">(untitled)</span>}</a>
                  </td>
                  <td>{t.type}</td>
                  <td>
                    <StatusBadge status={t.status} />
                    {t.status === "processing" && t.progress && <RowProgress taskId={t.id} progress={t.progress} />}
                  </td>
                  <td class="num">{t.priority}</td>
                  <td class="num">
                    {t.attempts}/{t.maxAttempts}
                  </td>
                  <td>
                    <Time at={t.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="Pages">
          {data.firstHref && <a href={data.firstHref}>« First page</a>}
          {data.nextHref && <a href={data.nextHref}>Next page »</a>}
        </nav>
      </div>
    </form>
  </>
);
