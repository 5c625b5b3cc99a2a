/**
 * The workflow graph's layout (pure, no I/O): which tasks are drawn, in which layer, where.
 *
 * Layers are columns from left to right: a task's layer is the longest path to it from a root (a
 * drawn task with no drawn parent), so every edge points rightwards and a join sits right of all
 * its branches. Within a column, tasks are ordered by the mean row of their parents (one
 * barycenter pass, ties by id), which keeps the branches of a fan-out next to each other and
 * avoids most crossings of small workflows; columns are centred on the tallest one. An edge that
 * skips layers is drawn straight through them (no dummy nodes): enough for the workflows baton
 * runs, and what the text list under the graph spells out exactly.
 *
 * A large workflow is cut to MAX_DRAWN tasks: the ones nearest the current task (breadth first,
 * both directions, neighbours in id order), so the page always shows the task's own surroundings.
 */

/** The most tasks one page draws; the rest are counted and named in the text. */
export const MAX_DRAWN = 500;

export const NODE_W = 176;
export const NODE_H = 48;
export const GAP_X = 64;
export const GAP_Y = 16;
export const PAD = 8;

export interface GraphEdge {
  from: number;
  to: number;
}

export interface PlacedNode<N> {
  node: N;
  layer: number;
  /** Top-left corner in SVG units. */
  x: number;
  y: number;
}

export interface PlacedEdge extends GraphEdge {
  /** An SVG path from the parent's right side to the child's left side. */
  d: string;
}

export interface Layout<N> {
  nodes: PlacedNode<N>[];
  edges: PlacedEdge[];
  width: number;
  height: number;
  layers: number;
  /** Tasks of the workflow that are not drawn. */
  hidden: number;
}

/**
 * A fingerprint of a workflow's shape (its task ids and edges, in any order). The page script
 * computes the same from GET /api/tasks/{id}/graph (static/graph.js): when they differ, tasks or
 * dependencies were added or removed, and the graph is laid out again instead of recoloured.
 */
export function graphShape(ids: readonly number[], edges: readonly GraphEdge[]): string {
  const M = 2_147_483_647;
  let n = 0;
  for (const id of ids) n = (n + (id % M)) % M;
  let e = 0;
  for (const x of edges) e = (e + (((x.from % M) * 31 + (x.to % M)) % M)) % M;
  return `${ids.length}.${edges.length}.${n}.${e}`;
}

/** The ids to draw: `current` and the tasks nearest it, at most `max`. */
export function nearest(current: number, ids: readonly number[], edges: readonly GraphEdge[], max: number): Set<number> {
  const known = new Set(ids);
  if (known.size <= max) return known;
  const adj = new Map<number, number[]>();
  const link = (a: number, b: number) => {
    const l = adj.get(a);
    if (l) l.push(b);
    else adj.set(a, [b]);
  };
  for (const e of edges) {
    link(e.from, e.to);
    link(e.to, e.from);
  }
  for (const l of adj.values()) l.sort((a, b) => a - b);
  const out = new Set<number>();
  const queue = known.has(current) ? [current] : [];
  if (queue.length) out.add(current);
  for (let i = 0; i < queue.length && out.size < max; i++) {
    for (const next of adj.get(queue[i]) ?? []) {
      if (out.size >= max) break;
      if (!known.has(next) || out.has(next)) continue;
      out.add(next);
      queue.push(next);
    }
  }
  // the walk covers the connected workflow; anything the walk did not reach fills up by id
  for (const id of [...known].sort((a, b) => a - b)) {
    if (out.size >= max) break;
    out.add(id);
  }
  return out;
}

/** Longest path from a root to each drawn id (Kahn's order; a cycle, which baton forbids, lands last). */
function layersOf(ids: readonly number[], edges: readonly GraphEdge[]): Map<number, number> {
  const layer = new Map<number, number>(ids.map((id) => [id, 0]));
  const indegree = new Map<number, number>(ids.map((id) => [id, 0]));
  const children = new Map<number, number[]>();
  for (const e of edges) {
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
    const l = children.get(e.from);
    if (l) l.push(e.to);
    else children.set(e.from, [e.to]);
  }
  const ready = ids.filter((id) => indegree.get(id) === 0);
  let seen = 0;
  for (let i = 0; i < ready.length; i++, seen++) {
    const id = ready[i];
    for (const c of children.get(id) ?? []) {
      layer.set(c, Math.max(layer.get(c) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (indegree.get(c) ?? 0) - 1;
      indegree.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (seen < ids.length) {
    const last = Math.max(0, ...layer.values()) + 1;
    for (const id of ids) if ((indegree.get(id) ?? 0) > 0) layer.set(id, last);
  }
  return layer;
}

/**
 * Lays out the workflow of `current`. `nodes` are every task of it (any order), `edges` from
 * parent to child; edges naming a task not in `nodes` are ignored.
 */
export function layoutWorkflow<N extends { id: number }>(current: number, nodes: readonly N[], edges: readonly GraphEdge[], max = MAX_DRAWN): Layout<N> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const known = edges.filter((e) => byId.has(e.from) && byId.has(e.to));
  const drawn = nearest(current, [...byId.keys()], known, max);
  const ids = [...drawn].sort((a, b) => a - b);
  const inner = known.filter((e) => drawn.has(e.from) && drawn.has(e.to));
  const layer = layersOf(ids, inner);

  const parents = new Map<number, number[]>();
  for (const e of inner) {
    const l = parents.get(e.to);
    if (l) l.push(e.from);
    else parents.set(e.to, [e.from]);
  }
  const layers = ids.length ? Math.max(...layer.values()) + 1 : 0;
  const columns: number[][] = Array.from({ length: layers }, () => []);
  for (const id of ids) columns[layer.get(id) ?? 0].push(id);
  const row = new Map<number, number>();
  for (const col of columns) {
    const bary = new Map<number, number>();
    for (const id of col) {
      const rows = (parents.get(id) ?? []).map((p) => row.get(p)).filter((r): r is number => r !== undefined);
      bary.set(id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Number.NEGATIVE_INFINITY);
    }
    col.sort((a, b) => (bary.get(a) ?? 0) - (bary.get(b) ?? 0) || a - b);
    // rows are centred like the drawing, so a parent's row and its children's compare fairly
    const offset = -(col.length - 1) / 2;
    for (const [i, id] of col.entries()) row.set(id, offset + i);
  }

  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const width = PAD * 2 + Math.max(1, layers) * NODE_W + Math.max(0, layers - 1) * GAP_X;
  const mid = PAD + ((tallest - 1) * (NODE_H + GAP_Y)) / 2;
  const placed = new Map<number, PlacedNode<N>>();
  for (const [l, col] of columns.entries()) {
    for (const id of col) {
      placed.set(id, { node: byId.get(id) as N, layer: l, x: PAD + l * (NODE_W + GAP_X), y: mid + (row.get(id) ?? 0) * (NODE_H + GAP_Y) });
    }
  }
  const placedEdges = inner.map((e): PlacedEdge => {
    const a = placed.get(e.from) as PlacedNode<N>;
    const b = placed.get(e.to) as PlacedNode<N>;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x - 2; // the arrowhead's tip touches the border instead of covering it
    const y2 = b.y + NODE_H / 2;
    const bend = Math.max(GAP_X / 2, (x2 - x1) / 3);
    return { ...e, d: `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}` };
  });
  return {
    nodes: ids.map((id) => placed.get(id) as PlacedNode<N>),
    edges: placedEdges,
    width,
    height,
    layers,
    hidden: byId.size - drawn.size,
  };
}
