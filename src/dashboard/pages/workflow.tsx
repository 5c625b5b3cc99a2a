/**
 * The workflow graph on a task's page: every task connected to it by dependencies, drawn as SVG
 * (layout in ../workflow.ts). Each task is a link to its page, filled with its status colour (the
 * badges' palette) and naming its status in text; the current task has a thick outline and
 * aria-current. Arrows run from parent to child, solid once the parent completed.
 *
 * The section is not a live region of the page: static/graph.js re-reads
 * GET /api/tasks/{id}/graph after changes and recolours the drawn tasks in place, and lays the
 * graph out again (by re-reading this page) only when the shape changed (data-shape).
 */
import type { FC } from "hono/jsx";
import type { Task } from "../../db/types.js";
import { fmtInt } from "../format.js";
import { fmtProgress } from "../progress.js";
import { type GraphEdge, graphShape, layoutWorkflow, MAX_DRAWN, NODE_H, NODE_W } from "../workflow.js";

export interface WorkflowData {
  nodes: Task[];
  edges: GraphEdge[];
  /** The API read stopped at its limit: the workflow has even more tasks. */
  truncated: boolean;
}

/** Characters of "#id name" that fit in a node. */
const NAME_CHARS = 22;
/** Drawn tasks (each a tab stop) from which a keyboard user is offered a link past them. */
const SKIP_LINK_FROM = 20;
/** Parents named in a node's accessible name before "and N more". */
const NAMED_PARENTS = 5;

const nameOf = (t: Task) => t.title || t.type;

/** The text under a task's name: its status, and its progress while it runs. */
export function statusLine(t: Pick<Task, "status" | "progress">): string {
  return t.status === "processing" && t.progress ? `${t.status} · ${fmtProgress(t.progress.percent)}` : t.status;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The text a node shows on its first line. */
const nameLine = (id: number, name: string) => clip(`#${id} ${name}`, NAME_CHARS);

/**
 * A node's accessible name (`full` false) or its tooltip (`full` true: the whole title). The name
 * starts with the node's visible text, as WCAG 2.5.3 wants (axe: label-content-name-mismatch).
 * static/graph.js builds the same from the node's data attributes.
 */
export function nodeLabel(t: Pick<Task, "id" | "status" | "progress">, name: string, parents: number[], current: boolean, full = false): string {
  const more = parents.length > NAMED_PARENTS ? ` and ${parents.length - NAMED_PARENTS} more` : "";
  const waits = parents.length ? `, waits for ${parents.slice(0, NAMED_PARENTS).map((p) => `#${p}`).join(", ")}${more}` : "";
  return `${full ? `#${t.id} ${name}` : nameLine(t.id, name)}, ${statusLine(t)}${current ? ", this task" : ""}${waits}`;
}

/** Width of the progress strip at the bottom of a node (0 unless it runs and reports progress). */
export const barWidth = (t: Pick<Task, "status" | "progress">) =>
  t.status === "processing" && t.progress ? Math.round((NODE_W - 2) * (Math.min(100, Math.max(0, t.progress.percent)) / 100)) : 0;

export const WorkflowGraph: FC<{ taskId: number; data: WorkflowData }> = ({ taskId, data }) => {
  const g = layoutWorkflow(taskId, data.nodes, data.edges, MAX_DRAWN);
  const status = new Map(data.nodes.map((n) => [n.id, n.status]));
  const parents = new Map<number, number[]>();
  for (const e of g.edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  const shape = graphShape(
    data.nodes.map((n) => n.id),
    data.edges,
  );
  const summary = `${fmtInt(data.nodes.length)} task${data.nodes.length === 1 ? "" : "s"}${data.truncated ? " (or more)" : ""} and ${fmtInt(data.edges.length)} dependenc${data.edges.length === 1 ? "y" : "ies"} in ${g.layers} layer${g.layers === 1 ? "" : "s"}`;
  return (
    <section id="workflow" aria-labelledby="h-workflow" data-task-id={String(taskId)} data-shape={shape}>
      <h2 id="h-workflow">Workflow</h2>
      {(g.hidden > 0 || data.truncated) && (
        <p class="notice" id="workflow-hidden" data-hidden={String(g.hidden)}>
          {g.hidden > 0 && `${fmtInt(g.hidden)} task${g.hidden === 1 ? " is" : "s are"} not shown: the graph draws the ${fmtInt(MAX_DRAWN)} tasks nearest this one. `}
          {data.truncated && `The workflow has more than ${fmtInt(data.nodes.length)} tasks; only that many were read.`}
        </p>
      )}
      {g.nodes.length > SKIP_LINK_FROM && (
        <a class="skip skip-local" href="#h-fields">
          Skip the workflow graph
        </a>
      )}
      <figure class="wf-figure">
        <figcaption class="wf-caption muted small">
          {summary}. Each task links to its page. Arrows point from a task to the tasks waiting for it: solid once it completed, dashed before. This task
          has the thick outline.
        </figcaption>
        <div class="wf-scroll">
          <svg
            class="wf"
            width={g.width}
            height={g.height}
            viewBox={`0 0 ${g.width} ${g.height}`}
            data-nodes={String(g.nodes.length)}
            data-edges={String(g.edges.length)}
          >
            <title>{`Workflow graph: ${summary}`}</title>
            <defs>
              <marker id="wf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto" markerUnits="userSpaceOnUse">
                <path d="M0 0 L10 5 L0 10 z" class="wf-arrowhead" />
              </marker>
            </defs>
            <g class="wf-edges">
              {g.edges.map((e) => (
                <path
                  d={e.d}
                  class={status.get(e.from) === "completed" ? "wf-edge met" : "wf-edge"}
                  data-from={String(e.from)}
                  data-to={String(e.to)}
                  marker-end="url(#wf-arrow)"
                />
              ))}
            </g>
            <g class="wf-nodes">
              {g.nodes.map(({ node: t, layer, x, y }) => {
                const current = t.id === taskId;
                const ps = parents.get(t.id) ?? [];
                const label = nodeLabel(t, nameOf(t), ps, current);
                const tooltip = nodeLabel(t, nameOf(t), ps, current, true);
                return (
                  <a
                    href={`/tasks/${t.id}`}
                    class={`wf-node s-${t.status}${current ? " current" : ""}`}
                    data-id={String(t.id)}
                    data-status={t.status}
                    data-layer={String(layer)}
                    data-name={nameOf(t)}
                    data-parents={ps.join(" ")}
                    aria-label={label}
                    aria-current={current ? "page" : undefined}
                  >
                    <title>{tooltip}</title>
                    <rect class="wf-box" x={x} y={y} width={NODE_W} height={NODE_H} rx={6} />
                    <rect class="wf-bar" x={x + 1} y={y + NODE_H - 6} width={barWidth(t)} height={5} />
                    {/* one <text>, its lines as <tspan>s with a space between: the visible text reads
                        "#41 split waiting", which the accessible name starts with */}
                    <text x={x + 10} y={y + 19}>
                      <tspan class="wf-name">{nameLine(t.id, nameOf(t))}</tspan>{" "}
                      <tspan class="wf-status" x={x + 10} dy={18}>
                        {statusLine(t)}
                      </tspan>
                    </text>
                  </a>
                );
              })}
            </g>
          </svg>
        </div>
      </figure>
    </section>
  );
};
