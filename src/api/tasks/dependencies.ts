/**
 * `dependsOn` and `ref` of a create request, checked before anything is stored (DESIGN.md,
 * workflows): refs name tasks of the same batch (in any order), ids name tasks that exist. Every
 * problem is a field error naming the place it was found: an unknown ref, a task depending on
 * itself, a cycle, a duplicate ref, refs outside a batch, parents on a held task, or an id that
 * does not exist. The ids are checked against the database in the creating transaction.
 */
import { sql } from "kysely";
import type { Db } from "../../db/client.js";
import type { FieldError } from "../../domain/errors.js";
import type { CreateTaskInput } from "./tasks.schemas.js";

export interface Parents {
  /** Parents that exist already. */
  ids: number[];
  /** Parents of the same batch: their positions in it. */
  index: number[];
}

const describeRef = (ref: string) => `'${ref.length > 60 ? `${ref.slice(0, 60)}…` : ref}'`;

/**
 * Resolves the refs of one request. `batch` false: a single create, where only ids are allowed.
 * `dedupeKeys`: per input the dedupe key its row is stored with (a ref to a task the batch repeats
 * means the first one). Returns per input its parents (null when it has none) and the field
 * errors found.
 */
export function resolveParents(
  inputs: CreateTaskInput[],
  batch: boolean,
  dedupeKeys: (string | null | undefined)[] = inputs.map((t) => t.dedupeKey),
): { parents: (Parents | null)[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const at = (i: number) => (batch ? `tasks.${i}.` : "");
  const byRef = new Map<string, number>();
  inputs.forEach((t, i) => {
    if (t.ref === undefined) return;
    if (!batch) errors.push({ field: "ref", message: "refs name tasks of one batch: use POST /api/tasks/batch" });
    else if (byRef.has(t.ref)) errors.push({ field: `${at(i)}ref`, message: `duplicate ref ${describeRef(t.ref)} (also tasks.${byRef.get(t.ref)}.ref)` });
    else byRef.set(t.ref, i);
  });
  // A later task whose dedupe key repeats an earlier one's is not inserted: a ref to it means the
  // earlier one. The keys are the ones stored (with dedupe: "content", the key made from type and
  // payload), not only the dedupeKeys given.
  const firstWithKey = new Map<string, number>();
  const canonical = inputs.map((_, i) => {
    const key = dedupeKeys[i];
    if (!key) return i;
    const first = firstWithKey.get(key);
    if (first === undefined) firstWithKey.set(key, i);
    return first ?? i;
  });

  const parents = inputs.map((t, i): Parents | null => {
    if (!t.dependsOn?.length) return null;
    if (t.hold) {
      errors.push({ field: `${at(i)}dependsOn`, message: "cannot be combined with hold: a task with parents waits for them instead of the backlog" });
      return null;
    }
    const ids = new Set<number>();
    const index = new Set<number>();
    t.dependsOn.forEach((d, j) => {
      const field = `${at(i)}dependsOn.${j}`;
      if (typeof d === "number") {
        ids.add(d);
        return;
      }
      if (!batch) {
        errors.push({ field, message: `refs name tasks of one batch; here give the parent's id (got ${describeRef(d)})` });
        return;
      }
      const k = byRef.get(d);
      if (k === undefined) errors.push({ field, message: `unknown ref ${describeRef(d)}: no task of this batch has it` });
      else if (k === i) errors.push({ field, message: "a task cannot depend on itself" });
      else index.add(canonical[k]);
    });
    return { ids: [...ids], index: [...index] };
  });
  if (errors.length === 0 && batch) {
    const cycle = findCycle(parents);
    if (cycle) {
      const name = (k: number) => inputs[k].ref ?? `tasks.${k}`;
      errors.push({ field: `tasks.${cycle[0]}.dependsOn`, message: `cycle: ${[...cycle, cycle[0]].map(name).join(" → ")}` });
    }
  }
  return { parents, errors };
}

/** A cycle among the batch's own edges (task → its parents), as the positions along it, or null. */
function findCycle(parents: (Parents | null)[]): number[] | null {
  const state = new Uint8Array(parents.length); // 0 new, 1 on the path, 2 done
  const path: number[] = [];
  // iterative depth-first search: a chain of 10,000 must not overflow the stack
  for (let root = 0; root < parents.length; root++) {
    if (state[root]) continue;
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    state[root] = 1;
    path.push(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const edges = parents[top.node]?.index ?? [];
      if (top.next < edges.length) {
        const k = edges[top.next++];
        if (state[k] === 1) return path.slice(path.indexOf(k));
        if (state[k] === 0) {
          state[k] = 1;
          path.push(k);
          stack.push({ node: k, next: 0 });
        }
      } else {
        state[top.node] = 2;
        path.pop();
        stack.pop();
      }
    }
  }
  return null;
}

/**
 * Field errors for the parent ids that do not exist. Runs first in the creating transaction and
 * locks the parents that exist FOR SHARE, in id order, before anything is inserted: a transaction
 * that finishes one of them then waits for this one to commit, and its trigger sees the new edges
 * (baton.flow_created takes the same lock again, which costs nothing). Taking it only after the
 * insert could deadlock: the insert's queue admission (baton.admit) holds the queue's row, and a
 * parent of that queue finishing holds the parent and waits for the queue's row.
 */
export async function missingParents(db: Db, inputs: CreateTaskInput[], batch: boolean): Promise<FieldError[]> {
  const wanted = [...new Set(inputs.flatMap((t) => (t.dependsOn ?? []).filter((d): d is number => typeof d === "number")))];
  if (wanted.length === 0) return [];
  const { rows } = await sql<{ id: number }>`
    select id from baton.tasks where id = any(${wanted}::bigint[]) order by id for share`.execute(db);
  const found = new Set(rows.map((r) => Number(r.id)));
  const errors: FieldError[] = [];
  inputs.forEach((t, i) => {
    t.dependsOn?.forEach((d, j) => {
      if (typeof d === "number" && !found.has(d)) {
        errors.push({ field: `${batch ? `tasks.${i}.` : ""}dependsOn.${j}`, message: `task ${d} does not exist` });
      }
    });
  });
  return errors;
}
