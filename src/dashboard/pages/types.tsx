/** "/task-types": the registry (description, parameter JSON Schema) with task counts per status. */
import type { FC } from "hono/jsx";
import type { TaskStatus } from "../../db/types.js";
import { TASK_STATUSES } from "../../domain/tasks.js";
import { fmtInt, fmtJson } from "../format.js";

export interface TaskTypeRow {
  name: string;
  description: string;
  parameters: unknown;
  registered: boolean;
  counts: Partial<Record<TaskStatus, number>>;
}

export const TaskTypes: FC<{ rows: TaskTypeRow[] }> = ({ rows }) => (
  <>
    <div class="scroll" id="live-types" data-live="">
      <table>
        <caption class="sr-only">Task types with the number of tasks in each status</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            {TASK_STATUSES.map((s) => (
              <th scope="col" class="num">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <th scope="row">
                <a href={`/tasks?type=${encodeURIComponent(r.name)}`}>{r.name}</a>
                {!r.registered && <span class="muted small"> (not registered here)</span>}
              </th>
              {TASK_STATUSES.map((s) => (
                <td class="num">{fmtInt(r.counts[s] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {rows
      .filter((r) => r.registered)
      .map((r) => (
        <section class="card" aria-labelledby={`type-${r.name}`}>
          <h2 id={`type-${r.name}`}>{r.name}</h2>
          <p>{r.description}</p>
          <details>
            <summary>Parameters (JSON Schema)</summary>
            <pre>{fmtJson(r.parameters)}</pre>
          </details>
        </section>
      ))}
  </>
);
