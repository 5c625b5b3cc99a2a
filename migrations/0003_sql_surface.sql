-- 0003: crash recovery, retention and the DBA's SQL surface.
--
-- Crash recovery. graphile-worker 0.17 locks a job with its pool id (locked_by) and only treats
-- a lock as abandoned after 4 hours. baton does not wait: every live instance periodically looks
-- for instances whose heartbeat is older than their dead-after window and takes their work over
-- with baton.recover_instance, in one transaction that first claims the dead instance's row with
-- FOR UPDATE SKIP LOCKED (so exactly one live instance does it, the others skip the row):
--   * the dead instance's processing tasks become retrying (run now) or failed (no attempts
--     left), each with a `recovered` log row, the outcome row of the interrupted attempt;
--   * the jobs its graphile-worker pool had locked are unlocked (force_unlock_workers, which also
--     frees serial queues) and deleted, and every pending/retrying task among them gets a fresh
--     job. Fresh, not the same row re-keyed: a process that only looked dead (paused, cut off)
--     may still complete its old job id later, and graphile-worker deletes a completed job by id;
--   * the instance row is marked stopped and recovered, so it is not processed twice.
-- An instance restarted under the same INSTANCE_ID takes over its own previous process's work
-- when it registers (trigger baton.instances_restarted below).

-- ---------------------------------------------------------------- instances: recovery columns
alter table baton.instances
  add column dead_after_ms int check (dead_after_ms is null or dead_after_ms > 0),
  add column recovered_by text,
  add column recovered_at timestamptz;
comment on column baton.instances.dead_after_ms is 'INSTANCE_DEAD_AFTER_MS this instance runs with: silent longer than this, it counts as dead (null: the checking instance''s own setting, default 20000)';
comment on column baton.instances.recovered_by is 'Instance (or sql:<role> for a manual call) that took this instance''s work over after it died';
comment on column baton.instances.recovered_at is 'When its work was taken over (the row''s stopped_at is set at the same moment)';

-- ---------------------------------------------------------------- pool locks
create function baton.release_pool_jobs(p_pools text[], p_requeue bigint[] default '{}')
returns int
language plpgsql volatile as $$
declare
  v_job_ids bigint[] := '{}';
  v_requeue bigint[] := coalesce(p_requeue, '{}');
begin
  -- The jobs the pools still hold. Unlock them (this also frees the serial queues they held),
  -- then delete them by id and queue a fresh job for each task that still needs one.
  if coalesce(array_length(p_pools, 1), 0) > 0 then
    select coalesce(array_agg(j.id), '{}'),
           v_requeue || coalesce(array_agg(substr(j.key, 7)::bigint) filter (where j.key ~ '^baton:[0-9]{1,18}$'), '{}')
      into v_job_ids, v_requeue
      from graphile_worker.jobs j
     where j.locked_by = any(p_pools);
    perform graphile_worker.force_unlock_workers(p_pools);
    if array_length(v_job_ids, 1) > 0 then
      perform graphile_worker.complete_jobs(v_job_ids);
    end if;
  end if;
  -- queue_jobs adds (or replaces by key) the job of each id that is pending or retrying, and
  -- skips the rest: terminal tasks, and tasks still processing (their attempt adds a job if it
  -- ends in a retry).
  if array_length(v_requeue, 1) > 0 then
    perform baton.queue_jobs(array(select distinct unnest(v_requeue)));
  end if;
  return coalesce(array_length(v_job_ids, 1), 0);
end
$$;
comment on function baton.release_pool_jobs(text[], bigint[]) is
  'Releases the graphile_worker jobs locked by worker pools that are gone: unlocks them (force_unlock_workers), deletes them by id, and queues a fresh job for each pending/retrying task among them and among p_requeue. Returns the number of jobs released.';

-- ---------------------------------------------------------------- take-over
create function baton.take_over(
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
    where t.status = 'processing' and t.locked_by = p_instance
      and (p_started_before is null or t.started_at < p_started_before)
    order by t.id
    for update
  ), moved as (
    update baton.tasks t set
      status = case when t.attempts >= t.max_attempts then 'failed' else 'retrying' end,
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
  'Internal step of crash recovery: ends the processing attempts of an instance (started before p_started_before, if given) with a recovered row (retrying, or failed when no attempts are left), unlocks and replaces the graphile_worker jobs locked by p_pools. Use baton.recover_instance instead.';

-- ---------------------------------------------------------------- recover_instance
create function baton.instance_is_dead(i baton.instances, p_dead_after_ms int default null)
returns boolean
language sql stable as $$
  select i.stopped_at is null
     and i.heartbeat_at < now() - make_interval(secs => coalesce(i.dead_after_ms, p_dead_after_ms, 20000) / 1000.0)
$$;
comment on function baton.instance_is_dead(baton.instances, int) is
  'True when the instance is not stopped and its heartbeat is older than its dead_after_ms (else p_dead_after_ms, else 20 s)';

create function baton.recover_instance(
  p_instance text,
  p_by text default null,
  p_force boolean default false,
  p_dead_after_ms int default null
) returns table (task_id bigint, status text, attempt int)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v baton.instances;
  v_window interval;
  v_reason text;
begin
  if p_force then
    select * into v from baton.instances i where i.id = p_instance for update;
  else
    select * into v from baton.instances i where i.id = p_instance for update skip locked;
  end if;
  if not found then
    return; -- no such instance, or another instance is recovering it right now
  end if;
  v_window := make_interval(secs => coalesce(v.dead_after_ms, p_dead_after_ms, 20000) / 1000.0);
  if v.stopped_at is null then
    -- Dead: silent past its window. After a Postgres restart every heartbeat is old, so wait
    -- until the server has been up for a whole window (everyone alive has beaten by then).
    if not p_force and not (baton.instance_is_dead(v, p_dead_after_ms) and pg_postmaster_start_time() < now() - v_window) then
      return;
    end if;
    v_reason := format('instance %s stopped heartbeating (last heartbeat %s)', v.id, v.heartbeat_at);
  else
    -- Stopped, yet still holding tasks (its shutdown could not write them back).
    if not exists (select 1 from baton.tasks t where t.status = 'processing' and t.locked_by = v.id) then
      return;
    end if;
    v_reason := format('instance %s stopped with the attempt unfinished', v.id);
  end if;
  v_reason := v_reason || '; taken over by ' || coalesce(p_by, 'sql:' || current_user);

  return query select * from baton.take_over(
    v.id, array_remove(array[v.worker_pool_id], null), null, v.heartbeat_at, p_by, v_reason);

  update baton.instances i
     set stopped_at = coalesce(i.stopped_at, now()),
         recovered_by = coalesce(p_by, 'sql:' || current_user),
         recovered_at = now()
   where i.id = v.id;
end
$$;
comment on function baton.recover_instance(text, text, boolean, int) is
  'Takes over a dead instance''s work in one transaction: its processing tasks become retrying (or failed with no attempts left) with a recovered log row, its graphile_worker jobs are unlocked and replaced, and it is marked stopped. Does nothing if the instance is alive (unless p_force), already recovered, or being recovered by someone else (SKIP LOCKED). Returns the tasks it moved.';

create function baton.recover_dead_instances(p_by text default null, p_dead_after_ms int default null)
returns table (instance_id text, task_id bigint, status text, attempt int)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_id text;
begin
  for v_id in
    select i.id from baton.instances i
    where (baton.instance_is_dead(i, p_dead_after_ms)
           or (i.stopped_at is not null
               and exists (select 1 from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)))
      and i.id is distinct from p_by
    order by i.heartbeat_at
  loop
    return query select v_id, r.task_id, r.status, r.attempt from baton.recover_instance(v_id, p_by, false, p_dead_after_ms) r;
  end loop;
end
$$;
comment on function baton.recover_dead_instances(text, int) is
  'Runs baton.recover_instance for every dead instance (what each live instance does every RECOVERY_INTERVAL_MS). A DBA can call it by hand: select * from baton.recover_dead_instances();';

-- ---------------------------------------------------------------- restart under the same id
create function baton.instances_restarted() returns trigger
language plpgsql as $$
begin
  perform baton.take_over(
    old.id,
    array_remove(array[old.worker_pool_id], null),
    new.started_at,
    old.heartbeat_at,
    new.id,
    format('instance %s restarted (pid %s, then %s) before stopping its previous process; taken over by its new process',
           old.id, old.pid, new.pid));
  return null;
end
$$;
comment on function baton.instances_restarted() is
  'Trigger: an instance registering again under the same id while its previous process never stopped takes that process''s work over (tasks and locked jobs) before it claims anything';

create trigger instances_restarted
  after update of started_at on baton.instances
  for each row
  when (new.started_at > old.started_at and old.stopped_at is null)
  execute function baton.instances_restarted();
comment on trigger instances_restarted on baton.instances is
  'Recovers the work of a previous process of the same instance id that died without stopping';

-- ---------------------------------------------------------------- retention
create function baton.prune_tasks(
  p_completed_before timestamptz,
  p_failed_before timestamptz,
  p_limit int default 1000
) returns int
language sql volatile as $$
  -- Each call is one short transaction deleting at most p_limit rows of each kind, oldest first
  -- (tasks_finished_idx). SKIP LOCKED: a row someone holds (a retry, a status report) is left
  -- for the next call instead of waited for, and two pruners never block each other.
  -- Conversations and logs go with their task (ON DELETE CASCADE, by their task_id indexes).
  with done as (
    select id from baton.tasks
    where status in ('completed', 'canceled') and finished_at < p_completed_before
    order by finished_at
    limit p_limit
    for update skip locked
  ), failed as (
    select id from baton.tasks
    where status = 'failed' and finished_at < p_failed_before
    order by finished_at
    limit p_limit
    for update skip locked
  ), gone as (
    delete from baton.tasks t
    where t.id in (select id from done union all select id from failed)
    returning t.id
  )
  select count(*)::int from gone
$$;
comment on function baton.prune_tasks(timestamptz, timestamptz, int) is
  'Deletes up to p_limit completed/canceled tasks finished before p_completed_before and up to p_limit failed ones finished before p_failed_before (null: keep), with their conversations and logs. Returns the number deleted; call again until it returns 0.';

create function baton.prune_instances(p_before timestamptz) returns int
language sql volatile as $$
  with gone as (
    delete from baton.instances i
    where i.stopped_at < p_before
      and not exists (select 1 from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)
    returning 1
  )
  select count(*)::int from gone
$$;
comment on function baton.prune_instances(timestamptz) is
  'Deletes instance rows stopped before p_before that hold no task (task_logs keep the instance id as text)';

-- ---------------------------------------------------------------- views
create view baton.queue_depth as
select
  t.status,
  t.type,
  t.queue,
  count(*)::bigint as tasks,
  (count(*) filter (where t.status in ('pending', 'retrying') and t.run_at <= now()))::bigint as due,
  min(t.run_at) filter (where t.status in ('pending', 'retrying')) as next_run_at,
  max(now() - t.run_at) filter (where t.status in ('pending', 'retrying') and t.run_at <= now()) as longest_wait,
  max(now() - t.started_at) filter (where t.status = 'processing') as longest_running,
  min(t.created_at) as oldest_created_at
from baton.tasks t
where t.status in ('backlog', 'pending', 'retrying', 'processing')
group by t.status, t.type, t.queue;
comment on view baton.queue_depth is 'Unfinished work by status, type and queue: how much, how much is due, how long the oldest has waited (terminal statuses are not queue depth; count them from baton.tasks)';
comment on column baton.queue_depth.status is 'backlog | pending | retrying | processing';
comment on column baton.queue_depth.type is 'Task type';
comment on column baton.queue_depth.queue is 'Serial queue (null: none)';
comment on column baton.queue_depth.tasks is 'Tasks in this group';
comment on column baton.queue_depth.due is 'pending/retrying tasks whose run_at has passed (claimable now, queue permitting)';
comment on column baton.queue_depth.next_run_at is 'Earliest run_at of the pending/retrying tasks (in the past: overdue)';
comment on column baton.queue_depth.longest_wait is 'How long the most overdue due task has waited past its run_at';
comment on column baton.queue_depth.longest_running is 'Run time so far of the longest-running processing task';
comment on column baton.queue_depth.oldest_created_at is 'Creation time of the oldest task in the group';

create view baton.instance_health as
select
  i.id,
  case
    when i.stopped_at is not null and i.recovered_at is not null and i.recovered_at >= i.started_at then 'recovered'
    when i.stopped_at is not null then 'stopped'
    when baton.instance_is_dead(i) then 'dead'
    else 'alive'
  end as state,
  i.heartbeat_at,
  now() - i.heartbeat_at as heartbeat_age,
  coalesce(i.dead_after_ms, 20000) as dead_after_ms,
  (select count(*) from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)::bigint as tasks_held,
  coalesce(j.jobs, 0)::bigint as jobs_locked,
  i.concurrency,
  i.host,
  i.port,
  i.pid,
  i.version,
  i.worker_pool_id,
  i.started_at,
  i.stopped_at,
  i.recovered_by,
  i.recovered_at
from baton.instances i
left join (
  select locked_by, count(*) as jobs from graphile_worker.jobs where locked_by is not null group by locked_by
) j on j.locked_by = i.worker_pool_id;
comment on view baton.instance_health is 'Every known instance: alive / dead (silent past dead_after_ms, not yet taken over) / recovered (its work was taken over) / stopped (clean stop), with what it holds';
comment on column baton.instance_health.id is 'Instance id';
comment on column baton.instance_health.state is 'alive | dead | recovered | stopped';
comment on column baton.instance_health.heartbeat_at is 'Last heartbeat';
comment on column baton.instance_health.heartbeat_age is 'Time since the last heartbeat';
comment on column baton.instance_health.dead_after_ms is 'Silence after which the instance counts as dead';
comment on column baton.instance_health.tasks_held is 'Tasks in processing locked by this instance';
comment on column baton.instance_health.jobs_locked is 'graphile_worker jobs locked by this instance''s worker pool';
comment on column baton.instance_health.concurrency is 'WORKER_CONCURRENCY';
comment on column baton.instance_health.host is 'Host name';
comment on column baton.instance_health.port is 'HTTP port';
comment on column baton.instance_health.pid is 'Process id';
comment on column baton.instance_health.version is 'baton version';
comment on column baton.instance_health.worker_pool_id is 'graphile_worker pool id (locked_by of its jobs)';
comment on column baton.instance_health.started_at is 'Start of the current (or last) process';
comment on column baton.instance_health.stopped_at is 'Clean stop or recovery time';
comment on column baton.instance_health.recovered_by is 'Who took its work over after it died';
comment on column baton.instance_health.recovered_at is 'When its work was taken over';

create view baton.task_timeline as
select
  l.task_id,
  row_number() over w as seq,
  l.id as log_id,
  l.created_at,
  l.attempt,
  l.event,
  l.instance_id,
  l.message,
  l.duration_ms,
  l.source,
  l.created_at - lag(l.created_at) over w as since_previous,
  l.created_at - t.created_at as since_created,
  t.type,
  t.title,
  t.status as task_status
from baton.task_logs l
join baton.tasks t on t.id = l.task_id
window w as (partition by l.task_id order by l.id);
comment on view baton.task_timeline is 'One task''s history in order: select * from baton.task_timeline where task_id = 42 order by seq (the task_id filter reaches task_logs_task_idx)';
comment on column baton.task_timeline.task_id is 'The task';
comment on column baton.task_timeline.seq is 'Position in the task''s history (1 = first row)';
comment on column baton.task_timeline.log_id is 'task_logs.id';
comment on column baton.task_timeline.created_at is 'When it happened';
comment on column baton.task_timeline.attempt is 'Attempt number';
comment on column baton.task_timeline.event is 'started | succeeded | failed | retry_scheduled | canceled | recovered | note';
comment on column baton.task_timeline.instance_id is 'Instance that wrote the row';
comment on column baton.task_timeline.message is 'Error, note or reason';
comment on column baton.task_timeline.duration_ms is 'Attempt duration on outcome rows';
comment on column baton.task_timeline.source is 'system | api';
comment on column baton.task_timeline.since_previous is 'Time since the previous row of the same task';
comment on column baton.task_timeline.since_created is 'Time since the task was created';
comment on column baton.task_timeline.type is 'Task type';
comment on column baton.task_timeline.title is 'Task title';
comment on column baton.task_timeline.task_status is 'The task''s current status';
