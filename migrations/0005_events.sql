-- 0005: change events for the live dashboard, and notification deliveries driven by the database.
--
-- Live updates. While at least one dashboard page is open somewhere (a row in
-- baton.dashboard_watchers that has not expired), every statement that changes baton.tasks or
-- baton.schedules sends ONE NOTIFY on channel 'baton_events' with a constant payload
-- ('{"kind":"tasks"}' or '{"kind":"schedules"}'). The triggers are statement-level, so a
-- 10,000-row batch sends one notification, not 10,000; Postgres also folds identical
-- notifications of one transaction into one. Each instance LISTENs once, coalesces bursts and
-- re-queries what its pages show.
--
-- Why the watchers table: a NOTIFY makes its transaction take a cluster-wide lock from commit
-- until the commit is flushed, so notifying transactions commit one at a time. Measured on the
-- development machine (2 shared cores, noisy; one instance processing 4,000 noop tasks, series
-- alternating the variants): with no page open the triggers are within noise of no triggers
-- (505-533 vs 523 tasks/s in a quiet series; 174-231 vs 213-244 in a busy one), since the
-- trigger reads one tiny unlogged table and returns; with a page open, 96-102 vs 181-253 in one
-- busy series and 183-211 vs 213-244 in another. An earlier version that notified on every
-- statement unconditionally cost about half, all the time, hence the table. The triggers have no
-- transition tables: capturing the rows cost ~20% (375-432 vs 505-533 tasks/s), so a statement
-- that changes no row also notifies while watched (harmless: one more coalesced refresh).
--
-- Notifications. A task that reaches 'failed' (or 'completed', when that event is switched on),
-- or a schedule that becomes 'inactive' (except a one-time schedule that simply fired), gets a
-- delivery: a baton task of the internal type 'notify', inserted with its graphile_worker job IN
-- THE SAME TRANSACTION as the change. So a failure produces exactly one delivery, whichever
-- instance, API call, bulk status report or SQL statement caused it, and no delivery exists for a
-- change that rolled back. Deliveries of type 'notify' never produce deliveries themselves (no
-- loops). These are row triggers with a WHEN clause, evaluated without calling any function, so
-- rows that do not change into failed/completed cost nothing. The setting is read here, when the
-- change commits, and again by the delivery when it runs, so switching notifications off stops
-- queued deliveries too.

-- ---------------------------------------------------------------- watchers
create unlogged table baton.dashboard_watchers (
  instance_id text primary key,
  clients int not null,
  expires_at timestamptz not null
);
comment on table baton.dashboard_watchers is
  'Instances with open dashboard pages (SSE clients). While any row is unexpired, changes to tasks and schedules NOTIFY baton_events. Unlogged: after a crash it is empty and instances register again.';
comment on column baton.dashboard_watchers.instance_id is 'Instance serving the pages';
comment on column baton.dashboard_watchers.clients is 'Open SSE connections on that instance when last renewed';
comment on column baton.dashboard_watchers.expires_at is 'Renewed while clients are connected; an instance that died stops counting after this';

create function baton.dashboard_watched() returns boolean
language sql stable as $$
  select exists (select 1 from baton.dashboard_watchers where expires_at > now())
$$;
comment on function baton.dashboard_watched() is 'True while some instance has an open dashboard page (see baton.dashboard_watchers)';

-- ---------------------------------------------------------------- settings helpers
create function baton.notification_enabled(p_settings jsonb, p_event text) returns boolean
language sql immutable as $$
  select coalesce(p_settings -> 'enabled' = 'true'::jsonb, false)
     and coalesce(p_settings -> 'events' -> p_event = 'true'::jsonb, false)
     and coalesce(jsonb_typeof(p_settings -> 'webhookUrl') = 'string', false)
$$;
comment on function baton.notification_enabled(jsonb, text) is
  'True when the notifications setting is on, has a webhook URL, and selects the event (taskFailed | taskCompleted | scheduleDeactivated). Never raises on a malformed value.';

create function baton.notification_backoff(p_settings jsonb) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'baseMs', v.base,
    'maxMs', greatest(v.base, 600000))
  from (select case when jsonb_typeof(p_settings -> 'backoffBaseMs') = 'number'
                    then least(greatest((p_settings ->> 'backoffBaseMs')::numeric, 1), 3600000)::int
                    else 5000 end as base) v
$$;
comment on function baton.notification_backoff(jsonb) is
  'Retry backoff of a delivery task from the notifications setting (backoffBaseMs, default 5000; capped at 10 minutes per step)';

create function baton.notification_attempts(p_settings jsonb) returns int
language sql immutable as $$
  select case when jsonb_typeof(p_settings -> 'maxAttempts') = 'number'
              then least(greatest((p_settings ->> 'maxAttempts')::numeric, 1), 50)::int
              else 6 end
$$;
comment on function baton.notification_attempts(jsonb) is
  'Attempts a delivery task gets from the notifications setting (maxAttempts, 1-50, default 6)';

create function baton.queue_notification(p_event text, p_title text, p_payload jsonb) returns bigint
language plpgsql volatile as $$
declare
  v_settings jsonb;
  v_id bigint;
begin
  select value into v_settings from baton.settings where key = 'notifications';
  if v_settings is null or not baton.notification_enabled(v_settings, p_event) then
    return null;
  end if;
  insert into baton.tasks (type, title, payload, priority, max_attempts, backoff)
  values ('notify', p_title, p_payload || jsonb_build_object('event', p_event), 100,
          baton.notification_attempts(v_settings), baton.notification_backoff(v_settings))
  returning id into v_id;
  perform baton.queue_jobs(array[v_id]);
  return v_id;
end
$$;
comment on function baton.queue_notification(text, text, jsonb) is
  'Queues one notify delivery (a task of type notify with its job) in the caller''s transaction when the notifications setting selects the event; returns its id, or null when not selected';

-- ---------------------------------------------------------------- tasks
create function baton.tasks_changed() returns trigger
language plpgsql as $$
begin
  if baton.dashboard_watched() then
    perform pg_notify('baton_events', '{"kind":"tasks"}');
  end if;
  return null;
end
$$;
comment on function baton.tasks_changed() is
  'Statement-level: NOTIFY baton_events {"kind":"tasks"} once per statement that changes tasks, while a dashboard is watched';

create trigger tasks_events_insert after insert on baton.tasks
  for each statement execute function baton.tasks_changed();
create trigger tasks_events_update after update on baton.tasks
  for each statement execute function baton.tasks_changed();
create trigger tasks_events_delete after delete on baton.tasks
  for each statement execute function baton.tasks_changed();
comment on trigger tasks_events_insert on baton.tasks is 'Live dashboard: one NOTIFY baton_events per inserting statement (while watched)';
comment on trigger tasks_events_update on baton.tasks is 'Live dashboard: one NOTIFY baton_events per updating statement (while watched)';
comment on trigger tasks_events_delete on baton.tasks is 'Live dashboard: one NOTIFY baton_events per deleting statement (while watched)';

create function baton.task_outcome_notification() returns trigger
language plpgsql as $$
begin
  perform baton.queue_notification(
    case new.status when 'failed' then 'taskFailed' else 'taskCompleted' end,
    format('notify: task %s %s', new.id, new.status),
    jsonb_build_object('task', jsonb_build_object(
      'id', new.id, 'type', new.type, 'title', new.title, 'status', new.status,
      'attempts', new.attempts, 'maxAttempts', new.max_attempts,
      'lastError', left(new.last_error, 2000), 'scheduleId', new.schedule_id,
      'finishedAt', new.finished_at)));
  return null;
end
$$;
comment on function baton.task_outcome_notification() is
  'Row trigger: queues the taskFailed / taskCompleted delivery of a task that just became failed / completed, if the notifications setting selects it';

create trigger tasks_notify_failed after update of status on baton.tasks
  for each row
  when (new.status = 'failed' and old.status is distinct from 'failed' and new.type <> 'notify')
  execute function baton.task_outcome_notification();
create trigger tasks_notify_completed after update of status on baton.tasks
  for each row
  when (new.status = 'completed' and old.status is distinct from 'completed' and new.type <> 'notify')
  execute function baton.task_outcome_notification();
comment on trigger tasks_notify_failed on baton.tasks is 'Notifications: one delivery per task that fails permanently (worker, bulk status API or SQL); never for type notify';
comment on trigger tasks_notify_completed on baton.tasks is 'Notifications: one delivery per completed task when taskCompleted is selected; never for type notify';

-- ---------------------------------------------------------------- schedules
create function baton.schedules_changed() returns trigger
language plpgsql as $$
begin
  if baton.dashboard_watched() then
    perform pg_notify('baton_events', '{"kind":"schedules"}');
  end if;
  return null;
end
$$;
comment on function baton.schedules_changed() is
  'Statement-level: NOTIFY baton_events {"kind":"schedules"} once per statement that changes schedules, while a dashboard is watched';

create trigger schedules_events_insert after insert on baton.schedules
  for each statement execute function baton.schedules_changed();
create trigger schedules_events_update after update on baton.schedules
  for each statement execute function baton.schedules_changed();
create trigger schedules_events_delete after delete on baton.schedules
  for each statement execute function baton.schedules_changed();
comment on trigger schedules_events_insert on baton.schedules is 'Live dashboard: one NOTIFY baton_events per inserting statement (while watched)';
comment on trigger schedules_events_update on baton.schedules is 'Live dashboard: one NOTIFY baton_events per updating statement (while watched)';
comment on trigger schedules_events_delete on baton.schedules is 'Live dashboard: one NOTIFY baton_events per deleting statement (while watched)';

create function baton.schedule_deactivated_notification() returns trigger
language plpgsql as $$
begin
  perform baton.queue_notification(
    'scheduleDeactivated',
    format('notify: schedule %s deactivated', new.name),
    jsonb_build_object('schedule', jsonb_build_object(
      'id', new.id, 'name', new.name, 'type', new.type, 'status', new.status,
      'reason', new.deactivated_reason, 'consecutiveFailures', new.consecutive_failures,
      'lastRunAt', new.last_run_at)));
  return null;
end
$$;
comment on function baton.schedule_deactivated_notification() is
  'Row trigger: queues the scheduleDeactivated delivery of a schedule that just became inactive, if the notifications setting selects it';

-- A one-time schedule that fired, and so finished, was not "deactivated": no message.
create trigger schedules_notify_deactivated after update of status on baton.schedules
  for each row
  when (new.status = 'inactive' and old.status <> 'inactive'
        and not (new.trigger ->> 'kind' = 'once' and new.last_run_at is distinct from old.last_run_at))
  execute function baton.schedule_deactivated_notification();
comment on trigger schedules_notify_deactivated on baton.schedules is
  'Notifications: one delivery per schedule that becomes inactive (after failures, an unusable trigger, a missed one-time run)';
