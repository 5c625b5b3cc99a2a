-- 0005: change events for the live dashboard, and notification deliveries driven by the database.
--
-- Live updates. Every statement that changes baton.tasks or baton.schedules sends ONE
-- NOTIFY on channel 'baton_events' with a constant payload ('{"kind":"tasks"}' or
-- '{"kind":"schedules"}'). The triggers are statement-level, so a 10,000-row batch sends one
-- notification, not 10,000; Postgres also folds identical notifications of one transaction into
-- one. Each instance LISTENs once, coalesces bursts and re-queries what its pages show. The
-- transition tables only answer "did any row change?" (an UPDATE that matched nothing, such as a
-- finish that lost a race, sends nothing).
--
-- Notifications. A task that reaches 'failed' (or 'completed', when that event is switched on),
-- or a schedule that becomes 'inactive' (except a one-time schedule that simply fired), gets a
-- delivery: a baton task of the internal type
-- 'notify', inserted with its graphile_worker job IN THE SAME TRANSACTION as the change. So a
-- failure produces exactly one delivery, whichever instance, API call, bulk status report or SQL
-- statement caused it, and no delivery exists for a change that rolled back. Deliveries of type
-- 'notify' never produce deliveries themselves (no loops). The setting is read here, when the
-- change commits, and again by the delivery when it runs, so switching notifications off stops
-- queued deliveries too.

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

-- ---------------------------------------------------------------- tasks
create function baton.tasks_after_change() returns trigger
language plpgsql as $$
declare
  v_settings jsonb;
  v_failed boolean;
  v_completed boolean;
  v_ids bigint[];
begin
  -- Only the transition table of this operation exists; plpgsql plans each branch lazily.
  if tg_op = 'DELETE' then
    perform 1 from old_rows limit 1;
  else
    perform 1 from new_rows limit 1;
  end if;
  if not found then
    return null;
  end if;
  perform pg_notify('baton_events', '{"kind":"tasks"}');

  if tg_op <> 'UPDATE' then
    return null;
  end if;
  -- One primary-key lookup per changing statement; nothing more unless notifications are on.
  select value into v_settings from baton.settings where key = 'notifications';
  if v_settings is null then
    return null;
  end if;
  v_failed := baton.notification_enabled(v_settings, 'taskFailed');
  v_completed := baton.notification_enabled(v_settings, 'taskCompleted');
  if not (v_failed or v_completed) then
    return null;
  end if;

  with ins as (
    insert into baton.tasks (type, title, payload, priority, max_attempts, backoff)
    select 'notify',
           format('notify: task %s %s', n.id, n.status),
           jsonb_build_object(
             'event', case n.status when 'failed' then 'taskFailed' else 'taskCompleted' end,
             'task', jsonb_build_object(
               'id', n.id, 'type', n.type, 'title', n.title, 'status', n.status,
               'attempts', n.attempts, 'maxAttempts', n.max_attempts,
               'lastError', left(n.last_error, 2000), 'scheduleId', n.schedule_id,
               'finishedAt', n.finished_at)),
           100,
           baton.notification_attempts(v_settings),
           baton.notification_backoff(v_settings)
    from new_rows n
    join old_rows o on o.id = n.id
    where n.type <> 'notify'
      and n.status is distinct from o.status
      and ((n.status = 'failed' and v_failed) or (n.status = 'completed' and v_completed))
    order by n.id
    returning id
  )
  select array_agg(id) into v_ids from ins;
  if v_ids is not null then
    perform baton.queue_jobs(v_ids);
  end if;
  return null;
end
$$;
comment on function baton.tasks_after_change() is
  'Statement-level: NOTIFY baton_events {"kind":"tasks"} once per changing statement; on UPDATE, queue one notify delivery per task that just became failed (or completed), when the notifications setting asks for it';

create trigger tasks_events_insert after insert on baton.tasks
  referencing new table as new_rows
  for each statement execute function baton.tasks_after_change();
create trigger tasks_events_update after update on baton.tasks
  referencing old table as old_rows new table as new_rows
  for each statement execute function baton.tasks_after_change();
create trigger tasks_events_delete after delete on baton.tasks
  referencing old table as old_rows
  for each statement execute function baton.tasks_after_change();
comment on trigger tasks_events_insert on baton.tasks is 'Live dashboard: one NOTIFY baton_events per inserting statement';
comment on trigger tasks_events_update on baton.tasks is 'Live dashboard NOTIFY, and notification deliveries for tasks that became failed/completed';
comment on trigger tasks_events_delete on baton.tasks is 'Live dashboard: one NOTIFY baton_events per deleting statement';

-- ---------------------------------------------------------------- schedules
create function baton.schedules_after_change() returns trigger
language plpgsql as $$
declare
  v_settings jsonb;
  v_ids bigint[];
begin
  if tg_op = 'DELETE' then
    perform 1 from old_rows limit 1;
  else
    perform 1 from new_rows limit 1;
  end if;
  if not found then
    return null;
  end if;
  perform pg_notify('baton_events', '{"kind":"schedules"}');

  if tg_op <> 'UPDATE' then
    return null;
  end if;
  select value into v_settings from baton.settings where key = 'notifications';
  if v_settings is null or not baton.notification_enabled(v_settings, 'scheduleDeactivated') then
    return null;
  end if;
  with ins as (
    insert into baton.tasks (type, title, payload, priority, max_attempts, backoff)
    select 'notify',
           format('notify: schedule %s deactivated', n.name),
           jsonb_build_object(
             'event', 'scheduleDeactivated',
             'schedule', jsonb_build_object(
               'id', n.id, 'name', n.name, 'type', n.type, 'status', n.status,
               'reason', n.deactivated_reason, 'consecutiveFailures', n.consecutive_failures,
               'lastRunAt', n.last_run_at)),
           100,
           baton.notification_attempts(v_settings),
           baton.notification_backoff(v_settings)
    from new_rows n
    join old_rows o on o.id = n.id
    where n.status = 'inactive' and o.status <> 'inactive'
      -- A one-time schedule that fired and so finished was not "deactivated": no message.
      and not (n.trigger ->> 'kind' = 'once' and n.last_run_at is distinct from o.last_run_at)
    order by n.id
    returning id
  )
  select array_agg(id) into v_ids from ins;
  if v_ids is not null then
    perform baton.queue_jobs(v_ids);
  end if;
  return null;
end
$$;
comment on function baton.schedules_after_change() is
  'Statement-level: NOTIFY baton_events {"kind":"schedules"} once per changing statement; on UPDATE, queue one notify delivery per schedule that just became inactive (a one-time schedule that fired is not counted), when the notifications setting asks for it';

create trigger schedules_events_insert after insert on baton.schedules
  referencing new table as new_rows
  for each statement execute function baton.schedules_after_change();
create trigger schedules_events_update after update on baton.schedules
  referencing old table as old_rows new table as new_rows
  for each statement execute function baton.schedules_after_change();
create trigger schedules_events_delete after delete on baton.schedules
  referencing old table as old_rows
  for each statement execute function baton.schedules_after_change();
comment on trigger schedules_events_insert on baton.schedules is 'Live dashboard: one NOTIFY baton_events per inserting statement';
comment on trigger schedules_events_update on baton.schedules is 'Live dashboard NOTIFY, and notification deliveries for schedules that became inactive';
comment on trigger schedules_events_delete on baton.schedules is 'Live dashboard: one NOTIFY baton_events per deleting statement';
