-- 0011: queues as first-class objects (DESIGN.md "Flow control", invariant 9).
--
-- A queue WITHOUT a row in baton.queues keeps today's meaning: its tasks get a graphile_worker
-- job with queue_name = the queue, and graphile-worker's named-queue lock runs them one at a
-- time. That path costs nothing new.
--
-- A queue WITH a row is admitted by baton: its tasks enter as `waiting` and have no job; one
-- function, baton.admit(queue), moves up to (concurrency − busy) of them, by priority desc then
-- id, to `pending` and adds their jobs (queue_name null, so graphile-worker runs them in
-- parallel), under a row lock on the queue row (SELECT … FOR UPDATE), so two instances can never
-- over-admit. busy = the queue's pending (admitted, not started) + processing tasks. Rules kept
-- in one place, whoever changes the rows:
--   * tasks_gate (BEFORE row trigger): a task of a queue with a row that would become pending or
--     retrying by any path (API create, baton.enqueue, retry, a bulk status report, a release
--     from backlog, shutdown's return, crash recovery, a retry after a failed attempt, a DBA's
--     UPDATE) becomes waiting instead; only baton.admit opens the gate.
--   * tasks_admit_* (AFTER statement triggers with transition tables): a statement that frees a
--     slot (a task left pending/processing) or makes a task waiting calls baton.admit for those
--     queues in the same transaction: work-conserving, never on a poll.
--   * queues_changed (AFTER row trigger on baton.queues): a new row, an edit (a DBA's UPDATE
--     too), a pause or a resume puts the admitted-but-not-started tasks back to waiting (their
--     jobs removed) and admits again under the new rules; a removed row hands the waiting tasks
--     back to graphile-worker's named queue. Running tasks always finish.
-- Rate limit: at most rate_limit.limit starts in any window of rate_limit.perSeconds. The worker's
-- start (src/db/queries/tasks.ts startTasks) writes one baton.queue_starts row per start of a
-- rate-limited queue; admission allows limit − (starts in the last perSeconds) − (admitted, not
-- started) more. A window that opens with time needs a timer: admit schedules a
-- graphile_worker job `baton:admit` (key baton:admit:<queue>) at the moment the oldest start
-- leaves the window (or the earliest future run_at of a waiting task), and NOTIFY baton_gate tells
-- the instances to wake their pools then (graphile-worker itself finds future jobs only by polling).

create table baton.queues (
  name text primary key check (length(name) between 1 and 200),
  concurrency int not null default 1 check (concurrency between 1 and 10000),
  rate_limit jsonb check (
    rate_limit is null
    or (jsonb_typeof(rate_limit) = 'object'
        and jsonb_typeof(rate_limit->'limit') = 'number' and jsonb_typeof(rate_limit->'perSeconds') = 'number'
        and (rate_limit->>'limit')::numeric >= 1 and (rate_limit->>'limit')::numeric = trunc((rate_limit->>'limit')::numeric)
        and (rate_limit->>'perSeconds')::numeric >= 1 and (rate_limit->>'perSeconds')::numeric = trunc((rate_limit->>'perSeconds')::numeric)
        and rate_limit - 'limit' - 'perSeconds' = '{}'::jsonb)),
  paused boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table baton.queues is 'Named queues with limits. A queue without a row runs its tasks one at a time (graphile_worker named queue); with a row, baton.admit releases its waiting tasks within concurrency and rate_limit, on every instance';
comment on column baton.queues.name is 'Queue name, as in baton.tasks.queue';
comment on column baton.queues.concurrency is 'At most this many tasks of the queue pending (admitted) or processing at once, across all instances';
comment on column baton.queues.rate_limit is '{"limit": n, "perSeconds": s}: at most n starts in any window of s seconds, across all instances; null: no rate limit';
comment on column baton.queues.paused is 'true: no new task of the queue starts (running ones finish); admitted tasks go back to waiting';
comment on column baton.queues.created_at is 'Row creation';
comment on column baton.queues.updated_at is 'Last change of a limit or of paused';

create table baton.queue_starts (
  queue text not null references baton.queues (name) on delete cascade,
  started_at timestamptz not null
);
create index queue_starts_queue_idx on baton.queue_starts (queue, started_at);
comment on table baton.queue_starts is 'Rate-limit ledger: one row per start of a task of a rate-limited queue; rows older than the window are pruned by baton.admit';
comment on column baton.queue_starts.queue is 'The queue';
comment on column baton.queue_starts.started_at is 'The start (the task''s started_at)';
comment on index baton.queue_starts_queue_idx is 'baton.admit: starts of one queue within its window, and pruning the older ones';

-- The admission's counts and its pick: busy (pending + processing) of one queue is a range of at
-- most `concurrency` entries, and the waiting tasks come in (priority desc, id) order. Only the
-- active statuses of queued tasks are indexed, so finished history and unqueued tasks cost
-- nothing here.
create index tasks_queue_gate_idx on baton.tasks (queue, status, priority desc, id)
  where queue is not null and status in ('waiting', 'pending', 'processing');
comment on index baton.tasks_queue_gate_idx is 'baton.admit: busy count (pending + processing) and the next waiting tasks (priority desc, id) of one queue; GET /api/queues live counts';

-- Jobs of a queue with a row run in parallel (baton.admit enforces the limits); others keep the
-- graphile_worker named queue, which serialises them. Stable now (it reads baton.queues).
create or replace function baton.job_spec(p_id bigint, p_queue text, p_run_at timestamptz, p_priority int)
returns graphile_worker.job_spec
language sql stable as $$
  select row(
    'baton:run',
    json_build_object('id', p_id),
    case when p_queue is null or exists (select 1 from baton.queues q where q.name = p_queue) then null else p_queue end,
    p_run_at,
    25,              -- graphile_worker retries only a crash of baton's own bookkeeping
    'baton:' || p_id,
    -p_priority,
    null
  )::graphile_worker.job_spec
$$;
comment on function baton.job_spec(bigint, text, timestamptz, int) is 'graphile_worker job spec for a pending/retrying task (queue_name: the queue when it has no baton.queues row, so graphile_worker serialises it; null when baton admits it)';

-- ---------------------------------------------------------------- admission
create function baton.admit(p_queue text) returns int
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
    -- SKIP LOCKED: a waiting task another transaction is changing (cancel, edit) is left to it;
    -- that statement's own trigger calls baton.admit again after it.
    perform set_config('baton.admitting', 'on', true);
    with picked as (
      select id from baton.tasks
      where queue = p_queue and status = 'waiting' and run_at <= now()
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
  -- A timer only where time alone opens the gate: the rate window (the oldest start leaving it,
  -- or, with no start in it yet, a full window from now) and a waiting task's future run_at.
  -- A full queue needs none: the finish that frees a slot admits in its own transaction.
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
  'Opens the gate of up to (concurrency − pending − processing) waiting tasks of the queue (priority desc, id), within its rate limit, unless paused: waiting → pending with their jobs, under a row lock on the queue. Schedules a baton:admit job when only time can open the gate. Returns how many it admitted. Called by triggers; safe to call by hand.';

-- ---------------------------------------------------------------- the gate on baton.tasks
create function baton.tasks_gate() returns trigger
language plpgsql as $$
begin
  if current_setting('baton.admitting', true) is distinct from 'on'
     and exists (select 1 from baton.queues q where q.name = new.queue) then
    new.status := 'waiting';
  end if;
  return new;
end
$$;
comment on function baton.tasks_gate() is 'Row trigger: a task of a queue with a baton.queues row that would become pending or retrying becomes waiting; only baton.admit opens the gate';

create trigger tasks_gate_insert before insert on baton.tasks
  for each row when (new.queue is not null and new.status in ('pending', 'retrying'))
  execute function baton.tasks_gate();
create trigger tasks_gate_update before update of status, queue on baton.tasks
  for each row when (new.queue is not null and new.status in ('pending', 'retrying')
                     and (old.status not in ('pending', 'retrying') or old.queue is distinct from new.queue))
  execute function baton.tasks_gate();
comment on trigger tasks_gate_insert on baton.tasks is 'Queue admission: a new task of a queue with a row is created waiting (baton.tasks_gate)';
comment on trigger tasks_gate_update on baton.tasks is 'Queue admission: a task of a queue with a row that becomes pending/retrying is held waiting (baton.tasks_gate)';

create function baton.tasks_admit() returns trigger
language plpgsql as $$
declare
  v_queue text;
begin
  -- The queues of rows that now wait, or that left pending/processing (a slot freed); a row
  -- that only moved pending → processing changes neither count nor gate. Queues in name order,
  -- so two statements admitting several queues lock their rows in one order.
  if tg_op = 'DELETE' then
    for v_queue in
      select distinct o.queue from old_rows o join baton.queues q on q.name = o.queue
      where o.status in ('pending', 'processing') order by 1
    loop
      perform baton.admit(v_queue);
    end loop;
  else
    for v_queue in
      select distinct n.queue from new_rows n join baton.queues q on q.name = n.queue
      where n.queue is not null and n.status not in ('pending', 'processing') order by 1
    loop
      perform baton.admit(v_queue);
    end loop;
  end if;
  return null;
end
$$;
comment on function baton.tasks_admit() is 'Statement trigger: calls baton.admit for each queue (with a row) whose tasks the statement made waiting or moved out of pending/processing, in the same transaction';

create trigger tasks_admit_insert after insert on baton.tasks
  referencing new table as new_rows for each statement execute function baton.tasks_admit();
create trigger tasks_admit_update after update on baton.tasks
  referencing new table as new_rows for each statement execute function baton.tasks_admit();
create trigger tasks_admit_delete after delete on baton.tasks
  referencing old table as old_rows for each statement execute function baton.tasks_admit();
comment on trigger tasks_admit_insert on baton.tasks is 'Queue admission: new waiting tasks are admitted at once when their queue has room';
comment on trigger tasks_admit_update on baton.tasks is 'Queue admission: a finished, canceled or returned task frees its slot for the next waiting one in the same transaction';
comment on trigger tasks_admit_delete on baton.tasks is 'Queue admission: a deleted pending task frees its slot';

-- ---------------------------------------------------------------- the queue row changes
create function baton.queues_changed() returns trigger
language plpgsql as $$
declare
  v_name text := coalesce(new.name, old.name);
  v_n int;
begin
  if tg_op = 'DELETE' then
    -- Back to graphile_worker's named queue: the waiting tasks become pending (run_at kept) and
    -- every unstarted task gets a job with queue_name = the queue (job_spec sees no row now).
    update baton.tasks set status = 'pending', updated_at = now()
     where queue = v_name and status = 'waiting';
    perform baton.queue_jobs(array(select id from baton.tasks where queue = v_name and status in ('pending', 'retrying')));
    perform graphile_worker.remove_job('baton:admit:' || v_name);
    if baton.dashboard_watched() then
      perform pg_notify('baton_events', '{"kind":"queues"}');
    end if;
    return old;
  end if;
  if tg_op = 'UPDATE' and new.concurrency = old.concurrency and new.rate_limit is not distinct from old.rate_limit
     and new.paused = old.paused then
    return new;
  end if;
  -- Unstarted tasks of the queue go back to waiting and lose their jobs (a job already claimed
  -- into a local queue finds its task no longer pending and runs nothing); then baton.admit
  -- releases what the new limits allow. On a new row this also takes over the tasks that had
  -- named-queue jobs.
  -- The jobs go in the same statement: its AFTER trigger (tasks_admit_update) then admits and
  -- adds the new jobs, which a later remove_job would take away again.
  with t as (
    update baton.tasks set status = 'waiting', updated_at = now()
     where id in (select id from baton.tasks where queue = v_name and status in ('pending', 'retrying') order by id for update)
    returning id
  ), r as (
    select graphile_worker.remove_job('baton:' || id) from t
  )
  select count(*) into v_n from r;
  perform baton.admit(v_name);
  -- the live dashboard (migrations/0005_events.sql): only while some page is open
  if baton.dashboard_watched() then
    perform pg_notify('baton_events', '{"kind":"queues"}');
  end if;
  return new;
end
$$;
comment on function baton.queues_changed() is 'Row trigger on baton.queues: a new row, a changed limit, pause or resume re-admits the queue''s unstarted tasks under the new rules; a removed row returns them to graphile_worker''s named queue';

create trigger queues_changed after insert or update or delete on baton.queues
  for each row execute function baton.queues_changed();
comment on trigger queues_changed on baton.queues is 'Same rules for the API and a DBA''s INSERT/UPDATE/DELETE: re-admission in the same transaction';
