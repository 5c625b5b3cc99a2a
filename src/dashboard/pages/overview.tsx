/**
 * "/": counts by status with the live pending count, throughput (5 and 60 minutes, chart),
 * success rate and p50/p95 duration per task type, instances with their heartbeat age.
 * Read-only: it calls no write API, so PUBLIC_DASHBOARD can serve it without a key.
 */
import type { FC } from "hono/jsx";
import type { InstanceRow, Throughput, TypeStats } from "../../db/queries/dashboard.js";
import type { TaskStatus } from "../../db/types.js";
import { TASK_STATUSES } from "../../domain/tasks.js";
import { ThroughputChart } from "../chart.js";
import { fmtDuration, fmtInt, fmtPercent } from "../format.js";
import { Age, EmptyRow, StatusBadge } from "../layout.js";

export interface OverviewData {
  counts: Record<TaskStatus, number>;
  throughput: Throughput;
  types: TypeStats[];
  instances: InstanceRow[];
  statsHours: number;
  /** Links to task lists need the key-protected pages; the public overview hides them. */
  links: boolean;
}

export const Counts: FC<{ counts: Record<TaskStatus, number>; links: boolean }> = ({ counts, links }) => (
  <ul class="tiles" aria-label="Tasks by status">
    {TASK_STATUSES.map((s) => {
      const body = (
        <>
          <span class="n" data-count={s}>
            {fmtInt(counts[s] ?? 0)}
          </span>
          <span class="label">{s}</span>
        </>
      );
      return <li class={`tile t-${s}${s === "pending" ? " primary" : ""}`}>{links ? <a href={`/tasks?status=${s}`}>{body}</a> : <span class="tile-body">{body}</span>}</li>;
    })}
  </ul>
);

export const Overview: FC<{ data: OverviewData }> = ({ data }) => {
  const t = data.throughput;
  return (
    <>
      <section aria-labelledby="h-status">
        <h2 id="h-status">Tasks by status</h2>
        <p class="lead">
          Pending now:{" "}
          <strong class="big" data-count="pending" id="pending-count">
            {fmtInt(data.counts.pending)}
          </strong>{" "}
          <span class="muted">(updates live)</span>
        </p>
        <Counts counts={data.counts} links={data.links} />
      </section>

      <section aria-labelledby="h-throughput" id="live-throughput" data-live="">
        <h2 id="h-throughput">Throughput</h2>
        <dl class="stats">
          <div>
            <dt>Completed, last 5 min</dt>
            <dd data-stat="completed5m">{fmtInt(t.completed5m)}</dd>
          </div>
          <div>
            <dt>Completed, last 60 min</dt>
            <dd data-stat="completed60m">{fmtInt(t.completed60m)}</dd>
          </div>
          <div>
            <dt>Failed, last 5 min</dt>
            <dd data-stat="failed5m">{fmtInt(t.failed5m)}</dd>
          </div>
          <div>
            <dt>Failed, last 60 min</dt>
            <dd data-stat="failed60m">{fmtInt(t.failed60m)}</dd>
          </div>
          <div>
            <dt>Per minute (5-min average)</dt>
            <dd>{((t.completed5m + t.failed5m) / 5).toFixed(1)}</dd>
          </div>
        </dl>
        <ThroughputChart data={t} />
      </section>

      <section aria-labelledby="h-types" id="live-types" data-live="">
        <h2 id="h-types">By task type, last {data.statsHours} h</h2>
        <div class="scroll">
          <table>
            <caption class="sr-only">Attempts per task type: outcomes, success rate and duration percentiles</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col" class="num">Succeeded</th>
                <th scope="col" class="num">Failed</th>
                <th scope="col" class="num">Retried</th>
                <th scope="col" class="num">Success rate</th>
                <th scope="col" class="num">p50</th>
                <th scope="col" class="num">p95</th>
              </tr>
            </thead>
            <tbody>
              {data.types.length === 0 && <EmptyRow cols={7}>No attempt has ended in this window.</EmptyRow>}
              {data.types.map((r) => (
                <tr>
                  <th scope="row">{data.links ? <a href={`/tasks?type=${encodeURIComponent(r.type)}`}>{r.type}</a> : r.type}</th>
                  <td class="num">{fmtInt(r.succeeded)}</td>
                  <td class="num">{fmtInt(r.failed)}</td>
                  <td class="num">{fmtInt(r.retried)}</td>
                  <td class="num">{fmtPercent(r.successRate)}</td>
                  <td class="num">{fmtDuration(r.p50Ms)}</td>
                  <td class="num">{fmtDuration(r.p95Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted small">Per attempt: retried means the attempt failed and another one was scheduled.</p>
      </section>

      <section aria-labelledby="h-instances" id="live-instances" data-live="">
        <h2 id="h-instances">Instances</h2>
        <InstanceTable rows={data.instances} />
      </section>
    </>
  );
};

export const InstanceTable: FC<{ rows: InstanceRow[]; full?: boolean }> = ({ rows, full }) => (
  <div class="scroll">
    <table>
      <caption class="sr-only">Service instances and the age of their last heartbeat</caption>
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">State</th>
          <th scope="col">Last heartbeat</th>
          <th scope="col" class="num">Running</th>
          <th scope="col" class="num">Concurrency</th>
          <th scope="col">Address</th>
          {full && <th scope="col" class="num">PID</th>}
          {full && <th scope="col">Version</th>}
          {full && <th scope="col">Started</th>}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && <EmptyRow cols={full ? 9 : 6}>No instance has registered.</EmptyRow>}
        {rows.map((i) => {
          const state = i.stoppedAt ? "stopped" : i.alive ? "alive" : "dead";
          return (
            <tr>
              <th scope="row">{i.id}</th>
              <td>
                <StatusBadge status={state} />
              </td>
              <td>
                <Age ms={Number(i.heartbeatAgeMs)} />
              </td>
              <td class="num">{fmtInt(i.running)}</td>
              <td class="num">{fmtInt(i.concurrency)}</td>
              <td>{i.port ? `${i.host}:${i.port}` : i.host}</td>
              {full && <td class="num">{i.pid}</td>}
              {full && <td>{i.version}</td>}
              {full && <td>{new Date(i.startedAt).toISOString().replace("T", " ").slice(0, 19)} UTC</td>}
            </tr>
          );
        })}
      </tbody>
    </table>
  </div>
);
