-- 0007: the task lifecycle as one table that every path reads.
--
-- baton.task_transition(from, action) answers "what does this action do to a task in this
-- status": the new status, or null when the action is refused (the API's 409, SQL's BT409, a
-- bulk status report's `conflicts`). The SQL functions below, the runtime queries
-- (src/db/queries/tasks.ts: claim, finish, return, release, bulk status, edit, delete) and, through
-- src/domain/tasks.ts (the same table as typed data, compared with this one by
-- test/state-machine.test.ts), the API and the dashboard all decide with it.
--
-- It is a CASE expression in an immutable SQL function with no FROM clause, so the planner
-- inlines it: called per row (finishing a batch of attempts) it costs what the CASE costs, and
-- baton.transition_sources('claim') with a constant argument is folded into an array constant
-- at plan time, so `status = any(baton.transition_sources('claim'))` is the same index condition
-- as `status in ('pending', 'retrying')` (tasks_status_id_idx, tasks_backlog_release_idx).
--
-- Two answers are not statuses: `edit` leaves the status as it is (its answer is the status
-- itself), and `delete` answers 'deleted' (the row goes, with its conversations and logs).
--
-- `waiting` (baton itself holds the task: a parent not done, a queue at its limit or paused) is
-- in the table and in the status check already; nothing creates waiting tasks yet. Its gate
-- opening is the action `open`.

alter table baton.tasks drop constraint tasks_status_check;
alter table baton.tasks add constraint tasks_status_check
  check (status in ('waiting', 'backlog', 'pending', 'processing', 'retrying', 'completed', 'failed', 'canceled'));
comment on column baton.tasks.status is 'waiting | backlog | pending | processing | retrying | completed | failed | canceled (transitions: baton.task_transitions)';

create function baton.task_transition(p_from text, p_action text) returns text
language sql immutable parallel safe as $$
  select case p_action
    when 'release' then case when p_from = 'backlog' then 'pending' end
    when 'open' then case when p_from = 'waiting' then 'pending' end
    when 'claim' then case when p_from in ('pending', 'retrying') then 'processing' end
    when 'succeed' then case when p_from = 'processing' then 'completed' end
    when 'fail_retry' then case when p_from = 'processing' then 'retrying' end
    when 'fail_final' then case when p_from = 'processing' then 'failed' end
    when 'return' then case when p_from = 'processing' then 'pending' end
    when 'cancel' then case when p_from in ('waiting', 'backlog', 'pending', 'retrying', 'processing') then 'canceled' end
    when 'retry' then case when p_from in ('failed', 'canceled') then 'pending' end
    when 'report_completed' then case when p_from in ('waiting', 'backlog', 'pending', 'retrying', 'processing') then 'completed' end
    when 'report_failed' then case when p_from in ('waiting', 'backlog', 'pending', 'retrying', 'processing') then 'failed' end
    when 'report_pending' then case when p_from in ('backlog', 'completed', 'failed', 'canceled') then 'pending' end
    when 'edit' then case when p_from in ('waiting', 'backlog', 'pending', 'retrying') then p_from end
    when 'delete' then case when p_from in ('waiting', 'backlog', 'pending', 'retrying', 'completed', 'failed', 'canceled') then 'deleted' end
  end
$$;
comment on function baton.task_transition(text, text) is
  'The task lifecycle: the status an action leads to from p_from, or null when the action is refused. Actions: release, open (a waiting task''s gate opens), claim, succeed, fail_retry, fail_final, return (shutdown), cancel, retry, report_completed / report_failed / report_pending (POST /api/tasks/status), edit (status unchanged), delete (answers ''deleted''). select * from baton.task_transitions lists it.';

create view baton.task_transitions as
select s.status as from_status, a.action, baton.task_transition(s.status, a.action) as to_status
from unnest(array['waiting', 'backlog', 'pending', 'processing', 'retrying', 'completed', 'failed', 'canceled'])
       with ordinality as s(status, s_ord)
cross join unnest(array['release', 'open', 'claim', 'succeed', 'fail_retry', 'fail_final', 'return', 'cancel',
                        'retry', 'report_completed', 'report_failed', 'report_pending', 'edit', 'delete'])
       with ordinality as a(action, a_ord)
where baton.task_transition(s.status, a.action) is not null;
comment on view baton.task_transitions is 'Every allowed (status, action) pair of the task lifecycle and where it leads (baton.task_transition as a table); a pair not listed is refused';
comment on column baton.task_transitions.from_status is 'Status before the action';
comment on column baton.task_transitions.action is 'release | open | claim | succeed | fail_retry | fail_final | return | cancel | retry | report_completed | report_failed | report_pending | edit | delete';
comment on column baton.task_transitions.to_status is 'Status after it (edit: unchanged; delete: ''deleted'', the row is gone)';

create function baton.transition_sources(p_action text) returns text[]
language sql immutable parallel safe as $$
  select coalesce(array_agg(from_status), '{}') from baton.task_transitions where action = p_action
$$;
comment on function baton.transition_sources(text) is
  'The statuses from which p_action is allowed. Immutable, so with a constant argument the planner folds it into an array constant: status = any(baton.transition_sources(''claim'')) is an index condition.';

-- ---------------------------------------------------------------- cancel_task, retry_task
create function baton.lock_task_for(p_id bigint, p_action text) returns text
language plpgsql volatile as $$
declare
  v_prev text;
begin
  select status into v_prev from baton.tasks where id = p_id for update;
  if not found then
    raise exception 'task % not found', p_id using errcode = 'P0002';
  end if;
  if baton.task_transition(v_prev, p_action) is null then
    raise exception 'task % is %: % is not allowed from %', p_id, v_prev, p_action, v_prev using errcode = 'BT409';
  end if;
  return v_prev;
end
$$;
comment on function baton.lock_task_for(bigint, text) is
  'Locks task p_id (FOR UPDATE) and returns its status when baton.task_transition allows p_action from it; raises P0002 (the API''s 404) when missing, BT409 (409) when refused';

create or replace function baton.cancel_task(p_id bigint, p_instance text default null, p_source text default 'system')
returns baton.tasks
language plpgsql volatile as $$
declare
  v_task baton.tasks;
  v_prev text := baton.lock_task_for(p_id, 'cancel');
begin
  update baton.tasks
     set status = baton.task_transition(v_prev, 'cancel'), locked_by = null, finished_at = now(), updated_at = now()
   where id = p_id
  returning * into v_task;
  perform graphile_worker.remove_job('baton:' || p_id);
  insert into baton.task_logs (task_id, attempt, event, instance_id, message, duration_ms, source)
  -- While processing, this row is the running attempt's outcome; otherwise it is a lifecycle
  -- event outside any attempt (attempt 0), so every attempt keeps exactly one outcome row.
  values (p_id, case when v_prev = 'processing' then v_task.attempts else 0 end, 'canceled', p_instance,
          'canceled while ' || v_prev || case when v_prev <> 'processing' and v_task.attempts > 0
                                              then ' after ' || v_task.attempts || ' attempt(s)' else '' end,
          case when v_prev = 'processing'
               then (extract(epoch from now() - v_task.started_at) * 1000)::int end,
          p_source);
  if v_prev = 'processing' then
    perform pg_notify('baton_cancel', p_id::text);
  end if;
  return v_task;
end
$$;
comment on function baton.cancel_task(bigint, text, text) is
  'Cancel a task where baton.task_transition(status, ''cancel'') allows it (waiting/backlog/pending/retrying/processing); a running handler is aborted via NOTIFY baton_cancel. Raises BT409 otherwise, P0002 when missing.';

create or replace function baton.retry_task(p_id bigint, p_instance text default null, p_source text default 'system')
returns baton.tasks
language plpgsql volatile as $$
declare
  v_task baton.tasks;
  v_prev text := baton.lock_task_for(p_id, 'retry');
begin
  update baton.tasks
     set status = baton.task_transition(v_prev, 'retry'), attempts = 0, run_at = now(), finished_at = null,
         result = null, locked_by = null, updated_at = now()
   where id = p_id
  returning * into v_task;
  perform baton.queue_jobs(array[p_id]);
  insert into baton.task_logs (task_id, attempt, event, instance_id, message, source)
  values (p_id, 0, 'note', p_instance, 'retried from ' || v_prev, p_source);
  return v_task;
end
$$;
comment on function baton.retry_task(bigint, text, text) is
  'Move a task where baton.task_transition(status, ''retry'') allows it (failed/canceled) back to pending with fresh attempts and a new job. Raises BT409 otherwise, P0002 when missing.';

-- ---------------------------------------------------------------- crash recovery
-- As in 0003, with the statuses from the table: an interrupted attempt ends like a failed one
-- (fail_retry while attempts are left, else fail_final).
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
  -- 1. The attempts that were running end here. attempts already counts them (start bumped it).
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
    insert into baton.task_logs (task_id, attempt, event, instance_id, message, duration_ms)
    select m.id, m.attempts, 'recovered', p_by,
           p_reason || case when m.status = 'failed' then '; no attempts left, failed' else '; retrying' end,
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
