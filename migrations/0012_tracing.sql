-- The caller's trace context, stored at create so that each attempt's baton.attempt span can link
-- to it (the attempt may run minutes later on another instance: a link, not a parent). Nullable
-- without a default, so adding it rewrites nothing and a task created without a context stores
-- nothing.
alter table baton.tasks add column traceparent text;

comment on column baton.tasks.traceparent is
  'W3C traceparent of the context that created the task (the HTTP request''s span or header, or the in-process caller''s active span); null when there was none. Each attempt span links to it.';
