-- 0013: workflows (task dependencies, DESIGN.md invariant 10) and progress.
--
-- A task with parents is `waiting` and has no graphile_worker job until every parent has
-- settled: completed, or (with on_parent_failure = 'continue') failed or canceled. The rules live
-- here, in triggers and functions every path goes through (the API, baton.enqueue, the worker's
-- finish statement, cancel_task / retry_task, a bulk status report, crash recovery, a DBA's
-- UPDATE), so nothing polls and nothing outside SQL has to remember them:
--   * baton.flow_created(ids): the creating transaction's second step. It locks the new tasks'
--     parents FOR SHARE (so a parent cannot finish unseen between the insert and this check),
--     then opens the tasks whose parents have settled and cancels those a failed parent dooms.
--     The API and baton.enqueue take that lock before the insert already: taken only after it,
--     it deadlocked with a parent of the same queue finishing (the insert's admission holds the
--     queue's row, which that finish waits for while holding the parent).
--   * tasks_a_flow (AFTER UPDATE statement trigger): when a statement settles a task that has
--     dependents, baton.flow_settle locks its waiting dependents (FOR UPDATE, in id order) and
--     decides each one again with a fresh snapshot: open it (waiting → pending, its job added in
--     the same transaction), cancel it (a failed or canceled parent, on_parent_failure =
--     'cancel'), or leave it waiting. Cancels cascade down the graph iteratively, not by trigger
--     recursion. Fan-in is exact: two transactions finishing parents of one child serialise on
--     the child's row lock, and the second one sees the first one's commit.
--   * When a settled task goes back to pending or waiting (a retry), baton.flow_revive puts the
--     dependents it canceled (canceled_by = it) back to waiting, transitively.
--   * tasks_deps_gate (BEFORE UPDATE row trigger): a task that would become pending or retrying
--     while a parent has not settled becomes waiting instead (a child retried before its parent).
--   * baton.admit (queues, 0011) never admits a task whose parents have not settled.
--   * tasks_delete_guard: a task that dependents are still waiting for cannot be deleted (BT409,
--     the API's 409): cancel it first, which applies on_parent_failure.
--   * task_dependencies_deleted: a parent that was deleted (finished, or with no waiting
--     dependents) counts as settled; the tasks that lost the edge are decided again.
-- The decisions rely on READ COMMITTED, where each statement sees what committed before it began
-- (a child's second parent finishing in another transaction is seen once that transaction
-- released the child's lock). A REPEATABLE READ or SERIALIZABLE transaction that settles a parent
-- locks the other parents too, and gets a serialization failure (40001) instead of a stale answer
-- (baton.flow_evaluate).

alter table baton.tasks
  add column progress jsonb,
  add column on_parent_failure text not null default 'cancel',
  add column canceled_by bigint;
alter table baton.tasks add constraint tasks_on_parent_failure_check check (on_parent_failure in ('cancel', 'continue'));
alter table baton.tasks add constraint tasks_progress_check check (
  progress is null
  or (jsonb_typeof(progress) = 'object' and jsonb_typeof(progress->'percent') = 'number'
      and (progress->>'percent')::numeric between 0 and 100));
comment on column baton.tasks.progress is '{"percent": 0..100, "message": text|null, "at": timestamp}: the last ctx.progress() of the running (or last) attempt, written at most once a second per task; null before any';
comment on column baton.tasks.on_parent_failure is 'cancel (default): a parent that ends failed or canceled cancels this task; continue: such a parent releases it like a completed one';
comment on column baton.tasks.canceled_by is 'The parent whose failure or cancel canceled this task (on_parent_failure = cancel); retrying that parent puts this task back to waiting. Null otherwise';

create table baton.task_dependencies (
  task_id bigint not null references baton.tasks (id) on delete cascade,
  depends_on bigint not null references baton.tasks (id) on delete cascade,
  primary key (task_id, depends_on),
  constraint task_dependencies_not_self check (task_id <> depends_on)
);
create index task_dependencies_depends_on_idx on baton.task_dependencies (depends_on, task_id);
comment on table baton.task_dependencies is 'Workflow edges: task_id starts only after depends_on has settled (invariant 10). Indexed both ways: what a task waits for, and what it releases';
comment on column baton.task_dependencies.task_id is 'The dependent (child) task';
comment on column baton.task_dependencies.depends_on is 'The parent task it waits for';
comment on index baton.task_dependencies_pkey is 'What a task waits for: its parents (baton.parents_settled, GET /api/tasks/{id})';
comment on index baton.task_dependencies_depends_on_idx is 'What a task releases: its dependents (tasks_a_flow, baton.flow_settle, baton.flow_revive)';

-- ---------------------------------------------------------------- the rule
create function baton.parents_settled(p_task bigint, p_mode text) returns boolean
language sql stable as $$
  select not exists (
    select 1 from baton.task_dependencies d join baton.tasks p on p.id = d.depends_on
    where d.task_id = p_task
      and p.status <> 'completed'
      and not (p_mode = 'continue' and p.status in ('failed', 'canceled')))
$$;
comment on function baton.parents_settled(bigint, text) is
  'true when every parent of the task has settled for a child with on_parent_failure p_mode: completed, or failed/canceled under continue. A task without parents has settled parents. A parent that was deleted no longer counts';

-- Decides each given waiting task again (the caller holds their row locks): cancels the ones a
-- failed or canceled parent dooms (on_parent_failure = cancel), opens the ones whose parents all
-- settled, leaves the rest waiting. Returns the ids it canceled (their dependents come next).
create function baton.flow_evaluate(p_kids bigint[]) returns bigint[]
language plpgsql volatile as $$
declare
  v_canceled bigint[];
  v_opened bigint[];
begin
  -- Under READ COMMITTED (the API, the worker, a DBA's plain statement) each statement below
  -- reads what committed before it began, so a parent that another transaction completed while
  -- this one waited for the child's lock is seen. A REPEATABLE READ or SERIALIZABLE transaction
  -- keeps its first snapshot and would miss it, leaving the child waiting for good: there the
  -- parents are locked too, and one that changed after the snapshot raises a serialization
  -- failure (40001) for the caller to retry.
  if current_setting('transaction_isolation') <> 'read committed' then
    perform 1 from baton.tasks p
     where p.id = any(array(select d.depends_on from baton.task_dependencies d where d.task_id = any(p_kids)))
     order by p.id
     for share;
  end if;
  with doomed as (
    select c.id, f.parent, f.pstatus
    from baton.tasks c
    cross join lateral (
      select p.id as parent, p.status as pstatus
      from baton.task_dependencies d join baton.tasks p on p.id = d.depends_on
      where d.task_id = c.id and p.status in ('failed', 'canceled')
      order by p.id limit 1) f
    where c.id = any(p_kids) and c.status = 'waiting' and c.on_parent_failure = 'cancel'
  ), upd as (
    update baton.tasks t
       set status = baton.task_transition(t.status, 'cancel'), canceled_by = d.parent,
           finished_at = now(), updated_at = now()
      from doomed d
     where t.id = d.id
    returning t.id, d.parent, d.pstatus
  ), logs as (
    insert into baton.task_logs (task_id, attempt, event, message, source)
    select id, 0, 'canceled', 'canceled: parent task ' || parent || ' ' || pstatus, 'system' from upd
  )
  select coalesce(array_agg(id order by id), '{}') into v_canceled from upd;

  -- RETURNING shows the status the BEFORE triggers left: a task of a queue with a row comes out
  -- waiting again (tasks_gate), and baton.admit (tasks_admit_update, at the end of this
  -- statement) opens it and adds its job. Only the ones that came out pending get a job here:
  -- adding the admitted ones again would replace their job (a second NOTIFY, a new revision).
  with opened as (
    update baton.tasks t set status = baton.task_transition(t.status, 'open'), updated_at = now()
     where t.id = any(p_kids) and t.status = 'waiting' and t.id <> all(v_canceled)
       and baton.parents_settled(t.id, t.on_parent_failure)
    returning t.id, t.status
  )
  select coalesce(array_agg(id order by id) filter (where status = 'pending'), '{}') into v_opened from opened;
  if cardinality(v_opened) > 0 then
    perform baton.queue_jobs(v_opened);
  end if;
  return v_canceled;
end
$$;
comment on function baton.flow_evaluate(bigint[]) is
  'Internal (workflows): for waiting tasks the caller has locked, cancels those a failed/canceled parent dooms (on_parent_failure = cancel, a canceled row naming the parent), opens those whose parents settled (pending with a job, or the queue''s gate), and returns the canceled ids';

create function baton.flow_settle(p_parents bigint[]) returns void
language plpgsql volatile as $$
declare
  v_frontier bigint[] := p_parents;
  v_kids bigint[];
begin
  while cardinality(v_frontier) > 0 loop
    -- each statement in here sees what committed before it started: a parent finished by another
    -- transaction that held this child's lock first is seen as finished
    v_kids := array(
      select id from baton.tasks
       where id = any(array(select d.task_id from baton.task_dependencies d where d.depends_on = any(v_frontier)))
         and status = 'waiting'
       order by id
       for update);
    exit when cardinality(v_kids) = 0;
    v_frontier := baton.flow_evaluate(v_kids);
  end loop;
end
$$;
comment on function baton.flow_settle(bigint[]) is
  'Internal (workflows): the tasks p_parents have settled; locks their waiting dependents in id order and decides them (baton.flow_evaluate), then the dependents of those it canceled, until nothing changes';

create function baton.flow_revive(p_parents bigint[]) returns void
language plpgsql volatile as $$
declare
  v_frontier bigint[] := p_parents;
begin
  while cardinality(v_frontier) > 0 loop
    with kids as (
      select id, canceled_by from baton.tasks
       where id = any(array(select d.task_id from baton.task_dependencies d where d.depends_on = any(v_frontier)))
         and status = 'canceled' and canceled_by = any(v_frontier)
       order by id
       for update
    ), upd as (
      update baton.tasks t
         set status = 'waiting', canceled_by = null, finished_at = null, updated_at = now()
        from kids k
       where t.id = k.id
      returning t.id, k.canceled_by
    ), logs as (
      insert into baton.task_logs (task_id, attempt, event, message, source)
      select id, 0, 'note', 'waiting again: parent task ' || canceled_by || ' was retried', 'system' from upd
    )
    select coalesce(array_agg(id order by id), '{}') into v_frontier from upd;
  end loop;
end
$$;
comment on function baton.flow_revive(bigint[]) is
  'Internal (workflows): p_parents went back from failed/canceled (a retry); the dependents they canceled become waiting again, transitively (a note row each)';

create function baton.flow_created(p_ids bigint[]) returns void
language plpgsql volatile as $$
declare
  v_canceled bigint[];
  v_flow text := current_setting('baton.flow', true);
begin
  if p_ids is null or cardinality(p_ids) = 0 then
    return;
  end if;
  -- FOR SHARE conflicts with the UPDATE that finishes a parent: either that UPDATE waits for this
  -- transaction (and its release trigger then sees these new edges), or this waits for it (and
  -- the statements below see the parent finished).
  perform 1 from baton.tasks
   where id = any(array(select d.depends_on from baton.task_dependencies d where d.task_id = any(p_ids)))
   order by id
   for share;
  perform set_config('baton.flow', 'on', true);
  v_canceled := baton.flow_evaluate(array(select id from baton.tasks where id = any(p_ids) and status = 'waiting' order by id));
  perform baton.flow_settle(v_canceled);
  perform set_config('baton.flow', coalesce(v_flow, ''), true);
end
$$;
comment on function baton.flow_created(bigint[]) is
  'Second step of creating tasks with parents, in the creating transaction: locks the parents FOR SHARE, then opens the new tasks whose parents settled already and cancels those a failed parent dooms';

-- ---------------------------------------------------------------- triggers
create function baton.tasks_flow() returns trigger
language plpgsql as $$
declare
  v_settled bigint[];
  v_back bigint[];
  v_flow text := current_setting('baton.flow', true);
begin
  -- the flow functions' own statements (a cascade, an open) are handled by their loops
  if v_flow = 'on' then
    return null;
  end if;
  -- only rows that have dependents: one probe of task_dependencies_depends_on_idx per row
  select array_agg(n.id order by n.id) filter (where n.status in ('completed', 'failed', 'canceled')),
         array_agg(n.id order by n.id) filter (where n.status in ('pending', 'waiting'))
    into v_settled, v_back
    from new_rows n
   where n.status in ('completed', 'failed', 'canceled', 'pending', 'waiting')
     and exists (select 1 from baton.task_dependencies d where d.depends_on = n.id);
  if v_settled is null and v_back is null then
    return null;
  end if;
  perform set_config('baton.flow', 'on', true);
  if v_back is not null then
    perform baton.flow_revive(v_back);
  end if;
  if v_settled is not null then
    perform baton.flow_settle(v_settled);
  end if;
  perform set_config('baton.flow', coalesce(v_flow, ''), true);
  return null;
end
$$;
comment on function baton.tasks_flow() is
  'Statement trigger (workflows): tasks the statement settled release, cancel or leave their waiting dependents (baton.flow_settle); tasks that went back to pending/waiting revive the dependents they canceled (baton.flow_revive)';

-- Named to fire before tasks_admit_update (AFTER triggers fire in name order). That order keeps
-- one lock order, task rows then the queue row: a finish that settled a parent locks its waiting
-- dependents here before baton.admit locks their queue's row, as a cancel of such a dependent
-- does (it locks the task, then its statement admits). With the queue row first, a parent
-- finishing while its dependent of the same queue was canceled deadlocked (tasks_admit_update
-- held the queue row and waited for the dependent; the cancel held the dependent and waited for
-- the queue row).
create trigger tasks_a_flow after update on baton.tasks
  referencing new table as new_rows for each statement execute function baton.tasks_flow();
comment on trigger tasks_a_flow on baton.tasks is 'Workflows: a finished, failed or canceled task releases or cancels its dependents in the same transaction; a retried one revives them (baton.tasks_flow; named to fire before tasks_admit_update)';

-- A parent that is deleted no longer holds anyone (baton.parents_settled reads the edges that are
-- left): the waiting tasks whose edges a statement removed (the cascade of deleting a finished
-- parent, by the API, retention or a DBA, or a DBA's DELETE on task_dependencies) are decided
-- again in the same transaction. A child that a retry put back to waiting behind a failed parent
-- is released when that parent is deleted.
create function baton.task_dependencies_deleted() returns trigger
language plpgsql as $$
declare
  v_kids bigint[];
  v_canceled bigint[];
  v_flow text := current_setting('baton.flow', true);
begin
  v_kids := array(
    select id from baton.tasks
     where id = any(array(select distinct o.task_id from old_edges o)) and status = 'waiting'
     order by id
     for update);
  if cardinality(v_kids) = 0 then
    return null;
  end if;
  perform set_config('baton.flow', 'on', true);
  v_canceled := baton.flow_evaluate(v_kids);
  perform baton.flow_settle(v_canceled);
  perform set_config('baton.flow', coalesce(v_flow, ''), true);
  return null;
end
$$;
comment on function baton.task_dependencies_deleted() is 'Statement trigger (workflows): the waiting tasks that lost a parent edge are decided again (baton.flow_evaluate): a deleted parent counts as settled';

create trigger task_dependencies_deleted after delete on baton.task_dependencies
  referencing old table as old_edges for each statement execute function baton.task_dependencies_deleted();
comment on trigger task_dependencies_deleted on baton.task_dependencies is 'Workflows: a task whose parent was deleted is released (or canceled by another parent) in the same transaction';

create function baton.tasks_deps_gate() returns trigger
language plpgsql as $$
begin
  new.canceled_by := null;
  if not baton.parents_settled(new.id, new.on_parent_failure) then
    new.status := 'waiting';
  end if;
  return new;
end
$$;
comment on function baton.tasks_deps_gate() is 'Row trigger (workflows): a task that would become pending or retrying while a parent has not settled becomes waiting';

-- named to run before tasks_gate_update (BEFORE triggers fire in name order), so a task held by
-- its parents never reaches the queue gate
create trigger tasks_deps_gate before update of status on baton.tasks
  for each row when (new.status in ('pending', 'retrying') and old.status not in ('pending', 'retrying'))
  execute function baton.tasks_deps_gate();
comment on trigger tasks_deps_gate on baton.tasks is 'Workflows: a task whose parents have not settled stays waiting, whatever path makes it pending (baton.tasks_deps_gate)';

create function baton.tasks_delete_guard() returns trigger
language plpgsql as $$
begin
  if exists (select 1 from baton.task_dependencies d join baton.tasks c on c.id = d.task_id
             where d.depends_on = old.id and c.status = 'waiting') then
    raise exception 'task % has dependents waiting for it: cancel it first', old.id using errcode = 'BT409';
  end if;
  return old;
end
$$;
comment on function baton.tasks_delete_guard() is 'Row trigger (workflows): refuses (BT409) to delete an unfinished task that dependents wait for';

create trigger tasks_delete_guard before delete on baton.tasks
  for each row when (old.status not in ('completed', 'failed', 'canceled'))
  execute function baton.tasks_delete_guard();
comment on trigger tasks_delete_guard on baton.tasks is 'Workflows: an unfinished parent with waiting dependents is canceled, not deleted (baton.tasks_delete_guard)';

-- ---------------------------------------------------------------- admission skips held tasks
-- As in 0011, with one more condition in the pick: a waiting task whose parents have not settled
-- is held by its workflow, not by the queue.
create or replace function baton.admit(p_queue text) returns int
language plpgsql volatile as $$
declare
  q baton.queues;
  v_busy int;
  v_pending int;
  v_room int;
  v_started int := 0;
  v_oldest timestamptz;
  v_per interval;
  v_ids bigint[];
  v_next timestamptz;
  v_rate_blocked boolean := false;
begin
  select * into q from baton.queues where name = p_queue for update;
  if not found or q.paused then
    return 0;
  end if;
  select count(*), count(*) filter (where status = 'pending') into v_busy, v_pending
    from baton.tasks where queue = p_queue and status in ('pending', 'processing');
  v_room := q.concurrency - v_busy;
  if q.rate_limit is not null then
    v_per := ((q.rate_limit->>'perSeconds')::int) * interval '1 second';
    delete from baton.queue_starts where queue = p_queue and started_at <= now() - v_per;
    select count(*), min(started_at) into v_started, v_oldest from baton.queue_starts where queue = p_queue;
    if (q.rate_limit->>'limit')::int - v_started - v_pending <= v_room then
      v_room := (q.rate_limit->>'limit')::int - v_started - v_pending;
      v_rate_blocked := true;
    end if;
  end if;
  if v_room > 0 then
    perform set_config('baton.admitting', 'on', true);
    with picked as (
      select id from baton.tasks t
      where queue = p_queue and status = 'waiting' and run_at <= now()
        and baton.parents_settled(t.id, t.on_parent_failure)
      order by priority desc, id
      limit v_room
      for update skip locked
    ), t as (
      update baton.tasks x set status = baton.task_transition(x.status, 'open'), updated_at = now()
      where x.id = any(array(select id from picked))
      returning x.id
    )
    select array_agg(id order by id) into v_ids from t;
    perform set_config('baton.admitting', 'off', true);
    if v_ids is not null then
      perform graphile_worker.add_jobs(array(
        select baton.job_spec(t.id, t.queue, t.run_at, t.priority) from baton.tasks t where t.id = any(v_ids) order by t.id));
    end if;
  end if;
  if exists (select 1 from baton.tasks where queue = p_queue and status = 'waiting') then
    if v_rate_blocked then
      v_next := coalesce(v_oldest + v_per, now() + v_per);
    end if;
    select least(v_next, min(run_at)) into v_next
      from baton.tasks where queue = p_queue and status = 'waiting' and run_at > now();
    if v_next is not null and not exists (
      select 1 from graphile_worker.jobs j
      where j.key = 'baton:admit:' || p_queue and j.locked_at is null and j.run_at <= v_next
    ) then
      perform graphile_worker.add_job('baton:admit', json_build_object('queue', p_queue),
        run_at => v_next, max_attempts => 25, job_key => 'baton:admit:' || p_queue, job_key_mode => 'replace');
      perform pg_notify('baton_gate', json_build_object(
        'queue', p_queue,
        'inMs', greatest(0, ceil(extract(epoch from v_next - clock_timestamp()) * 1000))::bigint)::text);
    end if;
  end if;
  return coalesce(array_length(v_ids, 1), 0);
end
$$;
comment on function baton.admit(text) is
  'Opens the gate of up to (concurrency − pending − processing) waiting tasks of the queue whose parents have settled (priority desc, id), within its rate limit, unless paused: waiting → pending with their jobs, under a row lock on the queue. Schedules a baton:admit job when only time can open the gate. Returns how many it admitted. Called by triggers; safe to call by hand.';

-- ---------------------------------------------------------------- SQL surface
drop function baton.enqueue(text, jsonb, text, int, text, timestamptz, int, text);
create function baton.enqueue(
  p_type text,
  p_payload jsonb default '{}'::jsonb,
  p_title text default '',
  p_priority int default 0,
  p_queue text default null,
  p_run_at timestamptz default now(),
  p_max_attempts int default 3,
  p_dedupe_key text default null,
  depends_on bigint[] default null,
  on_parent_failure text default 'cancel'
) returns bigint
language plpgsql volatile as $$
declare
  v_id bigint;
  v_parents bigint[] := array(select distinct x from unnest(enqueue.depends_on) x where x is not null order by 1);
  v_missing bigint;
begin
  if cardinality(v_parents) > 1000 then
    raise exception 'depends_on: at most 1000 parents (got %)', cardinality(v_parents) using errcode = '22023';
  end if;
  if enqueue.on_parent_failure is null or enqueue.on_parent_failure not in ('cancel', 'continue') then
    raise exception 'on_parent_failure: must be cancel or continue (got %)', enqueue.on_parent_failure using errcode = '22023';
  end if;
  -- The parents are locked FOR SHARE before the insert, as the API does (src/api/tasks/
  -- dependencies.ts): a transaction that finishes one of them then waits for this one, and its
  -- trigger sees the new edge. Taken after the insert, the lock could wait for a finish that
  -- itself waits for the queue row this insert's admission took.
  perform 1 from baton.tasks t where t.id = any(v_parents) order by t.id for share;
  select x into v_missing from unnest(v_parents) x where not exists (select 1 from baton.tasks t where t.id = x) limit 1;
  if v_missing is not null then
    raise exception 'depends_on: task % does not exist', v_missing using errcode = '22023';
  end if;
  -- the task and its edges in one statement, so the statement triggers (queue admission) see the
  -- edges
  with t as (
    insert into baton.tasks (type, payload, title, priority, queue, run_at, max_attempts, dedupe_key, status, on_parent_failure)
    values (p_type, coalesce(p_payload, '{}'::jsonb), coalesce(p_title, ''), coalesce(p_priority, 0),
            p_queue, coalesce(p_run_at, now()), coalesce(p_max_attempts, 3), p_dedupe_key,
            case when cardinality(v_parents) > 0 then 'waiting' else 'pending' end, enqueue.on_parent_failure)
    on conflict (dedupe_key) where dedupe_key is not null do nothing
    returning id
  ), e as (
    insert into baton.task_dependencies (task_id, depends_on)
    select t.id, p from t cross join unnest(v_parents) p
  )
  select id into v_id from t;
  if v_id is null then
    return null; -- duplicate dedupe_key
  end if;
  if cardinality(v_parents) > 0 then
    perform baton.flow_created(array[v_id]);
  else
    perform baton.queue_jobs(array[v_id]);
  end if;
  return v_id;
end
$$;
comment on function baton.enqueue(text, jsonb, text, int, text, timestamptz, int, text, bigint[], text) is
  'Create a task and its job in the caller''s transaction; returns the id, or null for a duplicate dedupe_key. depends_on: parent ids (at most 1000, each must exist): the task waits until they settle (on_parent_failure: cancel | continue), as POST /api/tasks does. The payload is validated by the worker when it runs.';
