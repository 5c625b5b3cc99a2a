/**
 * "/schedules": the list with pause / resume / trigger, and a create form. While the trigger is
 * being typed, the form asks the server to validate it and list the next runs (POST
 * /api/schedules/preview, which stores nothing); Create sends POST /api/schedules, which validates
 * everything again. Errors show next to their field.
 */
import type { FC } from "hono/jsx";
import type { Schedule } from "../../db/types.js";
import { fmtTrigger } from "../format.js";
import { EmptyRow, StatusBadge, Time } from "../layout.js";

export interface SchedulesData {
  items: Schedule[];
  types: string[];
}

export const ScheduleList: FC<{ items: Schedule[]; actions: boolean }> = ({ items, actions }) => (
  <div id="live-schedules" data-live="">
    <div class="scroll">
      <table>
        <caption class="sr-only">Schedules by name</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col">Next run</th>
            <th scope="col">Last run</th>
            <th scope="col" class="num">
              Failures in a row
            </th>
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && <EmptyRow cols={actions ? 8 : 7}>No schedules yet.</EmptyRow>}
          {items.map((s) => (
            <tr id={`schedule-${s.id}`} data-schedule-id={String(s.id)} data-status={s.status}>
              <th scope="row">
                <a href={`/tasks?scheduleId=${s.id}`}>{s.name}</a>
              </th>
              <td>{s.type}</td>
              <td>{fmtTrigger(s.trigger)}</td>
              <td>
                <StatusBadge status={s.status} />
                {s.deactivatedReason && <span class="muted small"> {s.deactivatedReason}</span>}
              </td>
              <td>{s.status === "active" ? <Time at={s.nextRunAt} /> : <span class="muted">{s.status}</span>}</td>
              <td>
                <Time at={s.lastRunAt} />
              </td>
              <td class="num">
                {s.consecutiveFailures}
                {s.deactivateAfterFailures ? ` / ${s.deactivateAfterFailures}` : ""}
              </td>
              {actions && (
                <td class="actions">
                  {s.status === "active" ? (
                    <button type="button" data-schedule-action="pause" data-id={String(s.id)} aria-label={`Pause ${s.name}`}>
                      Pause
                    </button>
                  ) : (
                    <button type="button" data-schedule-action="resume" data-id={String(s.id)} aria-label={`Resume ${s.name}`}>
                      Resume
                    </button>
                  )}
                  {/* An inactive schedule runs again only once resumed (the API answers 409). */}
                  {s.status !== "inactive" && (
                    <button type="button" data-schedule-action="trigger" data-id={String(s.id)} aria-label={`Run now ${s.name}`}>
                      Run now
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

const Field: FC<{ id: string; label: string; hint?: string; children?: unknown }> = ({ id, label, hint, children }) => (
  <div class="field">
    <label for={id}>{label}</label>
    {children as never}
    {hint && (
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    )}
    <p class="field-error" id={`${id}-error`} data-error-for={id} hidden />
  </div>
);

export const ScheduleForm: FC<{ types: string[] }> = ({ types }) => (
  <form id="schedule-form" class="card" novalidate data-preview-url="/api/schedules/preview" aria-labelledby="h-new">
    <h2 id="h-new">New schedule</h2>
    <p class="form-error" id="schedule-form-error" role="alert" hidden />
    <div class="grid">
      <Field id="s-name" label="Name" hint="Unique, for example daily-report">
        <input id="s-name" name="name" required maxlength={200} autocomplete="off" aria-describedby="s-name-hint s-name-error" />
      </Field>
      <Field id="s-type" label="Task type">
        <select id="s-type" name="type" aria-describedby="s-type-error">
          {types.map((t) => (
            <option value={t} selected={t === "http"}>
              {t}
            </option>
          ))}
        </select>
      </Field>
      <Field id="s-title" label="Task title (optional)">
        <input id="s-title" name="title" maxlength={500} aria-describedby="s-title-error" />
      </Field>
    </div>
    <Field id="s-payload" label="Payload (JSON)" hint='Parameters of the task type, for http: {"url": "…", "method": "POST", "body": {…}}'>
      <textarea id="s-payload" name="payload" rows={4} spellcheck={false} aria-describedby="s-payload-hint s-payload-error">
        {"{}"}
      </textarea>
    </Field>
    <fieldset>
      <legend>Trigger</legend>
      <div class="radios">
        <label>
          <input type="radio" name="kind" value="cron" checked /> Cron
        </label>
        <label>
          <input type="radio" name="kind" value="interval" /> Every N seconds
        </label>
        <label>
          <input type="radio" name="kind" value="once" /> Once
        </label>
      </div>
      <div class="grid" data-kind="cron">
        <Field id="s-expression" label="Cron expression" hint="minute hour day month weekday, for example 0 9 * * 1-5">
          <input id="s-expression" name="expression" value="*/15 * * * *" autocomplete="off" spellcheck={false} aria-describedby="s-expression-hint s-expression-error" />
        </Field>
        <Field id="s-timezone" label="Time zone" hint="IANA name, for example Europe/Berlin">
          <input id="s-timezone" name="timezone" value="UTC" autocomplete="off" aria-describedby="s-timezone-hint s-timezone-error" />
        </Field>
      </div>
      <div class="grid" data-kind="interval" hidden>
        <Field id="s-seconds" label="Interval in seconds">
          <input id="s-seconds" name="seconds" type="number" min={1} value="900" aria-describedby="s-seconds-error" />
        </Field>
      </div>
      <div class="grid" data-kind="once" hidden>
        <Field id="s-at" label="At (ISO 8601 with offset)" hint="for example 2026-12-01T09:00:00Z">
          <input id="s-at" name="at" autocomplete="off" aria-describedby="s-at-hint s-at-error" />
        </Field>
      </div>
      <div class="preview" id="trigger-preview" aria-live="polite">
        <h3 id="h-preview">Next runs</h3>
        <ol id="preview-runs" aria-labelledby="h-preview" />
      </div>
    </fieldset>
    <div class="grid">
      <Field id="s-maxAttempts" label="Attempts per run">
        <input id="s-maxAttempts" name="maxAttempts" type="number" min={1} max={1000} value="1" aria-describedby="s-maxAttempts-error" />
      </Field>
      <Field id="s-deactivate" label="Deactivate after failed runs in a row (empty: never)">
        <input id="s-deactivate" name="deactivateAfterFailures" type="number" min={1} aria-describedby="s-deactivate-error" />
      </Field>
      <Field id="s-overlap" label="When the previous run is still going">
        <select id="s-overlap" name="overlap" aria-describedby="s-overlap-error">
          <option value="skip">skip this run</option>
          <option value="allow">run anyway</option>
        </select>
      </Field>
      <Field id="s-catchUp" label="After downtime">
        <select id="s-catchUp" name="catchUp" aria-describedby="s-catchUp-error">
          <option value="latest">run once for the missed times</option>
          <option value="none">skip missed times</option>
          <option value="all">run each missed time (bounded)</option>
        </select>
      </Field>
    </div>
    <div class="toolbar">
      <button type="submit" class="primary">
        Create schedule
      </button>
    </div>
  </form>
);

export const Schedules: FC<{ data: SchedulesData }> = ({ data }) => (
  <>
    <section aria-labelledby="h-list">
      <h2 id="h-list">All schedules</h2>
      <ScheduleList items={data.items} actions />
    </section>
    <ScheduleForm types={data.types} />
  </>
);
