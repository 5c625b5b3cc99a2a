-- baton: schedules. The schedules table itself is in 0001; this adds what the scheduler and the
-- failure policy need: an index for the overlap check and the trigger that counts failed firings.

-- ---------------------------------------------------------------- overlap check
-- overlap = 'skip' asks "does this schedule still have an unfinished task?" at every firing. The
-- partial index holds only unfinished scheduled tasks, so the check stays one index probe however
-- many finished tasks a schedule has accumulated (an every-second schedule makes 86,400 a day).
create index tasks_schedule_open_idx on baton.tasks (schedule_id)
  where schedule_id is not null and status in ('backlog', 'pending', 'processing', 'retrying');
comment on index baton.tasks_schedule_open_idx is
  'Unfinished tasks per schedule: the scheduler''s overlap = skip check';

-- ---------------------------------------------------------------- failure policy
-- Every path that ends a task (the worker's finish batch, POST /api/tasks/status, a DBA's UPDATE)
-- goes through an UPDATE of tasks.status, so the policy lives here, not in one of those paths.
-- The schedule row is locked by the UPDATE below: two tasks of one schedule failing at the same
-- moment count as two, never as one. The WHEN clause keeps the cost off unscheduled tasks (the
-- function is not even called for them). Two batches that finish tasks of the same two schedules
-- in opposite order can deadlock; Postgres aborts one (40P01) and the worker's finish batch
-- retries transient errors, so the outcome is delayed, not lost.
create function baton.schedule_task_finished() returns trigger
language plpgsql as $$
declare
  v_s baton.schedules;
  v_reason text;
begin
  if new.status = 'completed' then
    update baton.schedules set consecutive_failures = 0, updated_at = now()
     where id = new.schedule_id and consecutive_failures <> 0;
    return null;
  end if;

  update baton.schedules set consecutive_failures = consecutive_failures + 1, updated_at = now()
   where id = new.schedule_id
  returning * into v_s;
  if not found then
    return null;
  end if;
  if v_s.deactivate_after_failures is null
     or v_s.consecutive_failures < v_s.deactivate_after_failures
     or v_s.status = 'inactive' then
    return null;
  end if;

  v_reason := format('%s firing(s) in a row ended failed (deactivateAfterFailures = %s); last: task %s: %s',
                     v_s.consecutive_failures, v_s.deactivate_after_failures, new.id,
                     left(coalesce(new.last_error, 'no error recorded'), 500));
  update baton.schedules
     set status = 'inactive', deactivated_reason = v_reason, next_run_at = null, updated_at = now()
   where id = v_s.id;
  insert into baton.task_logs (task_id, attempt, event, instance_id, message)
  values (new.id, new.attempts, 'note', null,
          format('schedule %s (%s) deactivated: %s', v_s.id, v_s.name, v_reason));
  perform pg_notify('baton_events', json_build_object(
    'kind', 'schedule_deactivated',
    'scheduleId', v_s.id,
    'name', v_s.name,
    'taskId', new.id,
    'consecutiveFailures', v_s.consecutive_failures,
    'reason', v_reason,
    'at', now())::text);
  return null;
end
$$;
comment on function baton.schedule_task_finished() is
  'Failure policy of schedules: a completed task resets its schedule''s consecutive_failures, a failed one adds 1; at deactivate_after_failures the schedule becomes inactive, a note is logged on the task and NOTIFY baton_events carries {"kind":"schedule_deactivated",...}. Canceled tasks count neither way.';

create trigger tasks_schedule_outcome
  after update of status on baton.tasks
  for each row
  when (new.schedule_id is not null
        and new.status is distinct from old.status
        and new.status in ('completed', 'failed'))
  execute function baton.schedule_task_finished();
comment on trigger tasks_schedule_outcome on baton.tasks is
  'Applies the schedule failure policy when a scheduled task reaches completed or failed (any path: worker, API, SQL)';
