/**
 * "/settings": the notifications setting. The form is saved through PUT
 * /api/settings/notifications (validated there); "Send a test message" queues a delivery through
 * POST /api/settings/notifications/test. Below it, the latest deliveries and their outcome.
 */
import type { FC } from "hono/jsx";
import type { recentDeliveries } from "../../db/queries/notify.js";
import type { NotificationSettings } from "../../notify/settings.js";
import { FORMATS } from "../../notify/settings.js";
import { fmtJson } from "../format.js";
import { EmptyRow, StatusBadge, Time } from "../layout.js";

export interface SettingsData {
  settings: NotificationSettings & { updatedAt: string | null };
  deliveries: Awaited<ReturnType<typeof recentDeliveries>>;
}

const FORMAT_LABELS: Record<(typeof FORMATS)[number], string> = {
  slack: 'Slack ({"text"})',
  discord: 'Discord ({"content"})',
  feishu: 'Feishu ({"msg_type":"text"})',
  generic: "Generic JSON (event, text, task or schedule)",
};

export const Settings: FC<{ data: SettingsData }> = ({ data }) => {
  const s = data.settings;
  return (
    <>
      <form id="notify-form" class="card" novalidate aria-labelledby="h-notify">
        <h2 id="h-notify">Notifications</h2>
        <p class="muted small">
          Each message is a task of type <code>notify</code>, queued by the database in the same transaction as the failure it reports, and
          retried on 5xx, 408, 429 and network errors. Switching off also stops messages already queued.
          {s.updatedAt ? " Last changed " : " Never saved: showing the defaults."}
          {s.updatedAt && <Time at={s.updatedAt} />}
        </p>
        <p class="form-error" id="notify-form-error" role="alert" hidden />
        <div class="field check">
          <input type="checkbox" id="n-enabled" name="enabled" checked={s.enabled} />
          <label for="n-enabled">Send notifications</label>
        </div>
        <div class="field">
          <label for="n-url">Webhook URL</label>
          <input
            id="n-url"
            name="webhookUrl"
            type="url"
            value={s.webhookUrl ?? ""}
            maxlength={2048}
            placeholder="https://hooks.slack.com/services/…"
            autocomplete="off"
            aria-describedby="n-url-error"
          />
          <p class="field-error" id="n-url-error" data-error-for="n-url" hidden />
        </div>
        <div class="field">
          <label for="n-format">Message format</label>
          <select id="n-format" name="format">
            {FORMATS.map((f) => (
              <option value={f} selected={s.format === f}>
                {FORMAT_LABELS[f]}
              </option>
            ))}
          </select>
        </div>
        <fieldset>
          <legend>Send a message when</legend>
          <div class="field check">
            <input type="checkbox" id="n-ev-failed" name="taskFailed" checked={s.events.taskFailed} />
            <label for="n-ev-failed">a task failed permanently</label>
          </div>
          <div class="field check">
            <input type="checkbox" id="n-ev-schedule" name="scheduleDeactivated" checked={s.events.scheduleDeactivated} />
            <label for="n-ev-schedule">a schedule was deactivated</label>
          </div>
          <div class="field check">
            <input type="checkbox" id="n-ev-completed" name="taskCompleted" checked={s.events.taskCompleted} />
            <label for="n-ev-completed">a task completed (one message per task)</label>
          </div>
        </fieldset>
        <div class="grid">
          <div class="field">
            <label for="n-attempts">Attempts per message</label>
            <input id="n-attempts" name="maxAttempts" type="number" min={1} max={50} value={String(s.maxAttempts)} aria-describedby="n-attempts-error" />
            <p class="field-error" id="n-attempts-error" data-error-for="n-attempts" hidden />
          </div>
          <div class="field">
            <label for="n-backoff">First retry after (ms)</label>
            <input
              id="n-backoff"
              name="backoffBaseMs"
              type="number"
              min={100}
              max={3600000}
              value={String(s.backoffBaseMs)}
              aria-describedby="n-backoff-error"
            />
            <p class="field-error" id="n-backoff-error" data-error-for="n-backoff" hidden />
          </div>
        </div>
        <div class="toolbar">
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" id="notify-test">
            Send a test message
          </button>
        </div>
      </form>

      <section aria-labelledby="h-deliveries" id="live-deliveries" data-live="">
        <h2 id="h-deliveries">Latest deliveries</h2>
        <div class="scroll">
          <table>
            <caption class="sr-only">The latest notification deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col" class="num">
                  Task
                </th>
                <th scope="col">Message</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Outcome</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {data.deliveries.length === 0 && <EmptyRow cols={6}>No deliveries yet.</EmptyRow>}
              {data.deliveries.map((d) => (
                <tr>
                  <td class="num">
                    <a href={`/tasks/${d.id}`}>{d.id}</a>
                  </td>
                  <td>{d.title}</td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td class="num">
                    {d.attempts}/{d.maxAttempts}
                  </td>
                  <td class="content">{d.lastError && d.status !== "completed" ? d.lastError : d.result ? fmtJson(d.result, 300) : "–"}</td>
                  <td>
                    <Time at={d.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
};
