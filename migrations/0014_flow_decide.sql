-- Workflows: one function for the step that creating tasks with parents (baton.flow_created) and
-- removing parent edges (the task_dependencies_deleted trigger) share. Both end by deciding a set
-- of waiting tasks again: open those whose parents all settled, cancel those a failed parent
-- dooms and settle what that cancel reaches, with baton.flow set so that the tasks trigger leaves
-- these statements to the loop. Behaviour is unchanged (0013 had the step written out twice).

create function baton.flow_decide(p_waiting bigint[]) returns void
language plpgsql volatile as $$
declare
  v_flow text := current_setting('baton.flow', true);
begin
  if p_waiting is null or cardinality(p_waiting) = 0 then
    return;
  end if;
  perform set_config('baton.flow', 'on', true);
  perform baton.flow_settle(baton.flow_evaluate(p_waiting));
  perform set_config('baton.flow', coalesce(v_flow, ''), true);
end
$$;
comment on function baton.flow_decide(bigint[]) is
  'Internal (workflows): decides the waiting tasks p_waiting again (baton.flow_evaluate opens or cancels each; baton.flow_settle carries the cancels on), with baton.flow set so the tasks trigger stays out of it';

create or replace function baton.flow_created(p_ids bigint[]) returns void
language plpgsql volatile as $$
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
  perform baton.flow_decide(array(select id from baton.tasks where id = any(p_ids) and status = 'waiting' order by id));
end
$$;

create or replace function baton.task_dependencies_deleted() returns trigger
language plpgsql as $$
begin
  perform baton.flow_decide(array(
    select id from baton.tasks
     where id = any(array(select distinct o.task_id from old_edges o)) and status = 'waiting'
     order by id
     for update));
  return null;
end
$$;
