/**
 * "/queues": every queue with its limits (concurrency, rate limit), its live counts (waiting,
 * pending, running, started in the last minute) and Pause / Resume, which call
 * POST /api/queues/{name}/pause | resume. The table is a live region: task and queue changes
 * from any instance or from SQL re-render it.
 */
import type { FC } from "hono/jsx";
import type { QueueRow } from "../../db/queries/queues.js";
import { EmptyRow } from "../layout.js";

export const QueueTable: FC<{ items: QueueRow[]; actions: boolean }> = ({ items, actions }) => (
  <div id="live-queues" data-live="">
    <div class="scroll">
      <table>
        <caption class="sr-only">Queues by name</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col" class="num">
              Concurrency
            </th>
            <th scope="col">Rate limit</th>
            <th scope="col">State</th>
            <th scope="col" class="num">
              Waiting
            </th>
            <th scope="col" class="num">
              Pending
            </th>
            <th scope="col" class="num">
              Running
            </th>
            <th scope="col" class="num">
              Started last minute
            </th>
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && <EmptyRow cols={actions ? 9 : 8}>No queues yet: PUT /api/queues/NAME creates one.</EmptyRow>}
          {items.map((q) => (
            <tr data-queue={q.name} data-paused={String(q.paused)}>
              <th scope="row">
                {q.name}
                {!q.configured && <span class="muted small"> (no row: one at a time)</span>}
              </th>
              <td class="num" data-field="concurrency">
                {q.concurrency}
              </td>
              <td data-field="rateLimit">{q.rateLimit ? `${q.rateLimit.limit} per ${q.rateLimit.perSeconds} s` : <span class="muted">none</span>}</td>
              <td data-field="state">
                <span class={`badge s-${q.paused ? "paused" : "active"}`}>{q.paused ? "paused" : "active"}</span>
              </td>
              <td class="num" data-field="waiting">
                {q.waiting}
              </td>
              <td class="num" data-field="pending">
                {q.pending}
              </td>
              <td class="num" data-field="running">
                {q.running}
              </td>
              <td class="num" data-field="startedLastMinute">
                {q.startedLastMinute}
              </td>
              {actions && (
                <td class="actions">
                  {q.paused ? (
                    <button type="button" data-queue-action="resume" data-id={q.name} aria-label={`Resume ${q.name}`}>
                      Resume
                    </button>
                  ) : (
                    <button type="button" data-queue-action="pause" data-id={q.name} aria-label={`Pause ${q.name}`}>
                      Pause
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  </div>
);

export const Queues: FC<{ items: QueueRow[] }> = ({ items }) => (
  <section aria-label="Queues">
    <p class="muted">
      A queue with a row is admitted by baton: at most its concurrency run at once and at most its rate limit start per window, across all instances.
      Pausing stops new starts on every instance; running tasks finish.
    </p>
    <QueueTable items={items} actions />
  </section>
);
