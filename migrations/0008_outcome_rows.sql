-- 0007 (second part): every attempt's outcome row says which attempt, where, when and how long.
--
-- DESIGN.md invariant 3: every attempt leaves exactly one outcome row in task_logs (succeeded,
-- failed, retry_scheduled, canceled, recovered or returned) carrying the attempt number, the
-- instance id, the attempt's start time and its duration, on every path:
--   * the worker's finish (succeeded / retry_scheduled / failed) and shutdown's return
--     (returned, new here; it used to be written as retry_scheduled): src/db/queries/tasks.ts;
--   * a cancel of a running task (baton.cancel_task) and a bulk status report that ends a
--     running task (POST /api/tasks/status): the row carries the instance the attempt ran on,
--     also when the request reached another instance or came from SQL;
--   * crash recovery (recovered): the row carries the instance that took the attempt over (the
--     one it ran on is dead, and named in the message).
-- A cancel or a status report of a task that is not running ends no attempt: its row has
-- attempt 0 and no start or duration, like any lifecycle event outside an attempt.
--
-- started_at is new, filled from the task row when the outcome is written (the row's created_at
-- is when the attempt ended). Rows written before this migration keep it null.

alter table baton.task_logs add column started_at timestamptz;
comment on column baton.task_logs.started_at is 'Start of the attempt: set on outcome rows (and started rows); null on rows outside an attempt (attempt 0) and on rows written before migration 0007_outcome_rows';
comment on column baton.task_logs.duration_ms is 'Attempt duration on outcome rows (from started_at to the outcome); null outside an attempt';
comment on column baton.task_logs.instance_id is 'On outcome rows the instance the attempt ran on (recovered: the instance that took it over); otherwise the instance that wrote the row (null for rows written from SQL)';
comment on column baton.task_logs.attempt is 'Attempt number the row belongs to (0: outside any attempt, e.g. a cancel of a task that was not running)';

alter table baton.task_logs drop constraint task_logs_event_check;
alter table baton.task_logs add constraint task_logs_event_check
  check (event in ('started', 'succeeded', 'failed', 'retry_scheduled', 'canceled', 'recovered', 'returned', 'note'));
comment on column baton.task_logs.event is 'started | succeeded | failed | retry_scheduled | canceled | recovered | returned (shutdown gave the attempt back) | note';
comment on table baton.task_logs is 'Execution history: exactly one outcome row per attempt (with its number, instance, start and duration), a started row per attempt, plus notes and lifecycle events';

-- ---------------------------------------------------------------- cancel_task
create or replace function baton.cancel_task(p_id bigint, p_instance text default null, p_source text default 'system')
returns baton.tasks
language plpgsql volatile as $$
declare
  v_task baton.tasks;
  v_prev text := baton.lock_task_for(p_id, 'cancel');
  v_ran_on text;
begin
  select locked_by into v_ran_on from baton.tasks where id = p_id;
  update baton.tasks
     set status = baton.task_transition(v_prev, 'cancel'), locked_by = null, finished_at = now(), updated_at = now()
   where id = p_id
  returning * into v_task;
  perform graphile_worker.remove_job('baton:' || p_id);
  -- While processing, this row is the running attempt's outcome: its number, the instance it ran
  -- on (also when the cancel came from SQL or through another instance), its start and duration.
  -- Otherwise it is a lifecycle event outside any attempt (attempt 0, no start, no duration; the
  -- instance that handled the request, null from SQL): the attempts before it already have their
  -- outcome rows, so every attempt keeps exactly one.
  insert into baton.task_logs (task_id, attempt, event, instance_id, message, started_at, duration_ms, source)
  select p_id, case when a.running then v_task.attempts else 0 end, 'canceled',
         case when a.running then coalesce(v_ran_on, p_instance) else p_instance end,
         'canceled while ' || v_prev || case when not a.running and v_task.attempts > 0
                                             then ' after ' || v_task.attempts || ' attempt(s)' else '' end,
         case when a.running then v_task.started_at end,
         case when a.running then greatest(0, extract(epoch from now() - v_task.started_at) * 1000)::int end,
         p_source
  from (select v_prev = 'processing' as running) a;
  if v_prev = 'processing' then
    perform pg_notify('baton_cancel', p_id::text);
  end if;
  return v_task;
end
$$;
comment on function baton.cancel_task(bigint, text, text) is
  'Cancel a task where baton.task_transition(status, ''cancel'') allows it (waiting/backlog/pending/retrying/processing); a running handler is aborted via NOTIFY baton_cancel. Raises BT409 otherwise, P0002 when missing.';

-- ---------------------------------------------------------------- crash recovery
create or replace function baton.take_over(
  p_instance text,
  p_pools text[],
  p_started_before timestamptz,
  p_last_seen timestamptz,
  p_by text,
  p_reason text
) returns table (task_id bigint, status text, attempt int)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_ids bigint[];
  v_statuses text[];
  v_attempts int[];
  v_requeue bigint[];
begin
  -- 1. The attempts that were running end here; each one's recovered row carries its start. attempts already counts them (start bumped it).
  with cur as (
    select t.id from baton.tasks t
    where t.status = any(baton.transition_sources('fail_retry')) and t.locked_by = p_instance
      and (p_started_before is null or t.started_at < p_started_before)
    order by t.id
    for update
  ), moved as (
    update baton.tasks t set
      status = baton.task_transition(t.status, case when t.attempts >= t.max_attempts then 'fail_final' else 'fail_retry' end),
      run_at = case when t.attempts >= t.max_attempts then t.run_at else now() end,
      finished_at = case when t.attempts >= t.max_attempts then now() end,
      last_error = p_reason,
      locked_by = null,
      updated_at = now()
    from cur
    where t.id = cur.id
    returning t.id, t.status, t.attempts, t.started_at
  ), logs as (
    insert into baton.task_logs (task_id, attempt, event, instance_id, message, started_at, duration_ms)
    select m.id, m.attempts, 'recovered', p_by,
           p_reason || case when m.status = 'failed' then '; no attempts left, failed' else '; retrying' end,
           m.started_at,
           greatest(0, extract(epoch from (least(coalesce(p_last_seen, now()), now()) - m.started_at)) * 1000)::int
    from moved m
  )
  select coalesce(array_agg(m.id order by m.id), '{}'),
         coalesce(array_agg(m.status order by m.id), '{}'),
         coalesce(array_agg(m.attempts order by m.id), '{}'),
         coalesce(array_agg(m.id) filter (where m.status = 'retrying'), '{}')
    into v_ids, v_statuses, v_attempts, v_requeue
    from moved m;

  -- 2. The jobs its pool had locked, and fresh jobs for the retries.
  perform baton.release_pool_jobs(p_pools, v_requeue);

  return query select * from unnest(v_ids, v_statuses, v_attempts);
end
$$;
comment on function baton.take_over(text, text[], timestamptz, timestamptz, text, text) is
  'Internal step of crash recovery: ends the processing attempts of an instance (started before p_started_before, if given) with a recovered row (retrying, or failed when no attempts are left; baton.task_transition fail_retry / fail_final), unlocks and replaces the graphile_worker jobs locked by p_pools. Use baton.recover_instance instead.';
