-- 0009: fewer index entries per task run.
--
-- Neither of the two updates a task run makes (start: pending → processing; finish: → completed)
-- can be a HOT update: both change status, which tasks_status_id_idx indexes (and partial-index
-- predicates name), so every new row version gets an entry in every index whose predicate it
-- matches. The cost of a run is therefore counted in index entries; each index below must name
-- the query it serves (COMMENT ON INDEX), and one that no runtime query needs goes.
--
-- Measured with scripts/measure-bookkeeping.ts (docs/benchmarks.md, "Bookkeeping per task"):
-- dropping tasks_processing_idx took about 80 WAL bytes per task run (4 % without a title);
-- other candidates measured and kept are listed there with their effect.
--
-- tasks_processing_idx (locked_by) where status = 'processing' served "what does instance X
-- hold": recovery's candidates and take-over, the instance_health view, the status page, the
-- worker's fencing check. Each of those also says status = 'processing', which is a range of
-- tasks_status_id_idx (status, id) holding only the running tasks (at most the sum of the
-- instances' concurrency, plus dead entries that btree's bottom-up deletion and vacuum remove);
-- locked_by is checked on those few rows. Every task paid an entry in it at each start.

drop index baton.tasks_processing_idx;

comment on index baton.tasks_pkey is
  'Task by id: every API read and write, the worker''s start and finish (id = any($ids)), job keys baton:<id>, foreign keys from conversations and task_logs';
comment on index baton.tasks_status_id_idx is
  'status = … (and id order): GET /api/tasks?status= with its keyset cursor, counts by status (metrics, dashboard, queue_depth), the pending count of releaseBacklog, and what an instance holds (status = ''processing'' and locked_by = …: recovery, instance_health, status page)';
comment on index baton.tasks_type_id_idx is
  'type = … (and id order): GET /api/tasks?type=, the notify deliveries list, the dashboard''s per-type counts (one probe per distinct type)';
comment on index baton.tasks_queue_id_idx is
  'queue = … (and id order): GET /api/tasks?queue=; tasks without a queue are not in it';
comment on index baton.tasks_schedule_id_idx is
  'schedule_id = … (and id order): GET /api/tasks?scheduleId= and a schedule''s last firing; unscheduled tasks are not in it';
comment on index baton.tasks_schedule_firing_idx is
  'Unique (schedule_id, scheduled_for): a schedule fires at most once per due time (the firing''s ON CONFLICT DO NOTHING)';
comment on index baton.tasks_schedule_open_idx is
  'Unfinished tasks of a schedule: the scheduler''s overlap = skip check; unscheduled and finished tasks are not in it';
comment on index baton.tasks_dedupe_key_idx is
  'Unique dedupe_key: ON CONFLICT DO NOTHING of POST /api/tasks(/batch) and baton.enqueue, the duplicate lookup by key';
comment on index baton.tasks_backlog_release_idx is
  'releaseBacklog (the release task type): backlog tasks, highest priority first, then oldest; only backlog rows are in it';
comment on index baton.tasks_finished_idx is
  'Retention: baton.prune_tasks deletes the oldest finished tasks first (order by finished_at limit n); unfinished rows are not in it';
