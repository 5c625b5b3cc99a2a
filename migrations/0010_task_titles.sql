-- 0010: title search moves off baton.tasks, onto a table written only when a title is.
--
-- A task's row gets three versions in its life (insert, start, finish) and, since neither update
-- can be HOT (0009), each version got its own entries in the trigram index on title: about 25
-- GIN keys for a 30-character title, three times over, though the title never changed. Measured
-- with scripts/measure-bookkeeping.ts --titled (docs/benchmarks.md, "Bookkeeping per task"), the
-- trigram index was 39 % of the WAL of a titled task's run (1,547 of 4,014 bytes) and 643 bytes
-- of its insert.
--
-- baton.task_titles holds (task_id, title) for every task whose title is not empty, kept by two
-- triggers on baton.tasks, so every path that writes tasks (the API, baton.enqueue, a DBA's
-- INSERT or UPDATE) keeps it right: one statement-level insert per inserting statement, and a row
-- trigger that fires only when an UPDATE sets title to something else. The worker's start and
-- finish never set title, so they no longer touch the trigram index at all.
--
-- Upgrading: the copy and the index build run inside the migration's transaction, so they hold
-- writes to baton.tasks for as long as they take (seconds per million titled tasks).

create table baton.task_titles (
  task_id bigint primary key references baton.tasks (id) on delete cascade,
  title text not null check (title <> '')
);
comment on table baton.task_titles is
  'Title search: one row per task with a non-empty title, kept by triggers on baton.tasks (insert, update of title); the trigram index lives here so that the worker''s status updates of tasks never write it';
comment on column baton.task_titles.task_id is 'The task; deleted with it';
comment on column baton.task_titles.title is 'The task''s title (equal to baton.tasks.title)';

insert into baton.task_titles (task_id, title) select id, title from baton.tasks where title <> '';

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_trgm') then
    drop index if exists baton.tasks_title_trgm_idx;
    create index task_titles_trgm_idx on baton.task_titles using gin (title gin_trgm_ops);
    comment on index baton.task_titles_trgm_idx is
      'Title search: GET /api/tasks?search= and the dashboard''s search (title ILIKE ''%text%'')';
  end if;
end
$$;

create function baton.task_titles_inserted() returns trigger
language plpgsql as $$
begin
  insert into baton.task_titles (task_id, title)
  select id, title from new_rows where title <> '';
  return null;
end
$$;
comment on function baton.task_titles_inserted() is
  'Statement trigger: copies the titles of the tasks an INSERT created into baton.task_titles';

create trigger tasks_titles_insert after insert on baton.tasks
  referencing new table as new_rows
  for each statement execute function baton.task_titles_inserted();
comment on trigger tasks_titles_insert on baton.tasks is 'Title search: one insert into baton.task_titles per inserting statement';

create function baton.task_title_changed() returns trigger
language plpgsql as $$
begin
  if new.title = '' then
    delete from baton.task_titles where task_id = new.id;
  else
    insert into baton.task_titles (task_id, title) values (new.id, new.title)
    on conflict (task_id) do update set title = excluded.title;
  end if;
  return null;
end
$$;
comment on function baton.task_title_changed() is
  'Row trigger: carries a task''s new title to baton.task_titles (removes the row when the title becomes empty)';

create trigger tasks_title_update after update of title on baton.tasks
  for each row when (old.title is distinct from new.title)
  execute function baton.task_title_changed();
comment on trigger tasks_title_update on baton.tasks is
  'Title search: fires only when an UPDATE changes title (PATCH /api/tasks/{id}, SQL); the worker''s updates never do';
