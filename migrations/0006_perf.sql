-- Worker hot path: what each task run costs Postgres.
--
-- 1. Task outcome notifications were a row trigger: every task reaching completed or failed ran a
--    plpgsql function that read baton.settings, about 23 µs per task even with notifications off
--    (a third of the finish statement). It is now one statement-level trigger with transition
--    tables: the setting is read once per statement, and only when it selects taskFailed or
--    taskCompleted are the changed rows looked at.
-- 2. The trigram index on title skips empty titles, so a task without one adds no GIN entry on
--    insert or on each status change.
-- 3. task_logs gets two rows per attempt. Its created_at index becomes BRIN (rows arrive in
--    time order, so block ranges describe them well, and an insert costs next to nothing), and
--    the event index keeps only the rare events: started and succeeded are half of all rows, so
--    a list filtered by them finds a page at once walking the primary key backwards.
--    Together about a fifth of the Postgres CPU of a task's start and finish bookkeeping.
--
-- Upgrading an existing installation: the index rebuilds below run inside the migration's
-- transaction, so they hold writes to baton.tasks and baton.task_logs for as long as they take.

drop trigger tasks_notify_failed on baton.tasks;
drop trigger tasks_notify_completed on baton.tasks;
drop function baton.task_outcome_notification();

create function baton.task_outcome_notifications() returns trigger
language plpgsql as $$
declare
  v_settings jsonb;
begin
  select value into v_settings from baton.settings where key = 'notifications';
  if v_settings is null
     or not (baton.notification_enabled(v_settings, 'taskFailed')
             or baton.notification_enabled(v_settings, 'taskCompleted')) then
    return null;
  end if;
  perform baton.queue_notification(
    case n.status when 'failed' then 'taskFailed' else 'taskCompleted' end,
    format('notify: task %s %s', n.id, n.status),
    jsonb_build_object('task', jsonb_build_object(
      'id', n.id, 'type', n.type, 'title', n.title, 'status', n.status,
      'attempts', n.attempts, 'maxAttempts', n.max_attempts,
      'lastError', left(n.last_error, 2000), 'scheduleId', n.schedule_id,
      'finishedAt', n.finished_at)))
  from new_rows n
  join old_rows o on o.id = n.id
  where n.status in ('failed', 'completed')
    and o.status is distinct from n.status
    and n.type <> 'notify'
  order by n.id;
  return null;
end
$$;
comment on function baton.task_outcome_notifications() is
  'Statement trigger: queues one taskFailed / taskCompleted delivery per task the statement moved to failed / completed, if the notifications setting selects the event (the setting is read once per statement)';

create trigger tasks_notify_outcome after update on baton.tasks
  referencing old table as old_rows new table as new_rows
  for each statement execute function baton.task_outcome_notifications();
comment on trigger tasks_notify_outcome on baton.tasks is
  'Notifications: one delivery per task that fails permanently or completes (worker, bulk status API or SQL), when selected; never for type notify';

do $$
begin
  if to_regclass('baton.tasks_title_trgm_idx') is not null then
    drop index baton.tasks_title_trgm_idx;
    create index tasks_title_trgm_idx on baton.tasks using gin (title gin_trgm_ops) where title <> '';
    comment on index baton.tasks_title_trgm_idx is 'Title search (ILIKE ''%text%''); tasks without a title are not indexed';
  end if;
end
$$;

drop index baton.task_logs_created_idx;
create index task_logs_created_idx on baton.task_logs using brin (created_at);
comment on index baton.task_logs_created_idx is 'Filter by time; throughput over recent minutes (BRIN: rows arrive in time order)';
drop index baton.task_logs_event_idx;
create index task_logs_event_idx on baton.task_logs (event, id) where event not in ('started', 'succeeded');
comment on index baton.task_logs_event_idx is 'Filter by a rare event (failed, retry_scheduled, canceled, recovered, note); started and succeeded rows are common enough to find by id order';

-- 4. graphile-worker's job table is a queue: every job is inserted, locked and deleted once. At
--    the default autovacuum_vacuum_scale_factor (0.2) a table holding 1M queued jobs is vacuumed
--    only after ~200,000 deletions, and until then each single-job claim walks the dead entries
--    at the head of the job index. Vacuum it after 1 % of its rows (at least 1,000) instead.
alter table graphile_worker._private_jobs set (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 1000
);
