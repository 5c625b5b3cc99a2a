-- Idempotency-Key support for POST /api/tasks and POST /api/tasks/batch.
-- The first request with a key inserts an in-progress row (status null); the primary key makes a
-- second insert impossible, so concurrent retries wait for the stored response instead of
-- creating twice. Rows expire after IDEMPOTENCY_TTL_SECONDS (default 24 h) and are pruned.

create table baton.idempotency_keys (
  scope text not null,
  key text not null check (length(key) between 1 and 255),
  request_hash text not null,
  claim text not null,
  status int,
  content_type text,
  response_body text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expires_at timestamptz not null,
  primary key (scope, key)
);
comment on table baton.idempotency_keys is 'Idempotency-Key header values seen by POST /api/tasks and /api/tasks/batch, with the first response to replay; one row per (scope, key)';
comment on column baton.idempotency_keys.scope is 'SHA-256 hex of the API key that sent the request (the configured hash); empty string when no keys are configured';
comment on column baton.idempotency_keys.key is 'The client''s Idempotency-Key header (1-255 visible ASCII characters)';
comment on column baton.idempotency_keys.request_hash is 'SHA-256 of method, path and canonical JSON body; the same key with another hash is answered 422';
comment on column baton.idempotency_keys.claim is 'Random token of the request that holds the key; only it may store the response or release the key';
comment on column baton.idempotency_keys.status is 'HTTP status of the stored response; null while the first request is still in progress';
comment on column baton.idempotency_keys.content_type is 'Content-Type of the stored response';
comment on column baton.idempotency_keys.response_body is 'Body of the stored response, byte for byte, replayed to retries';
comment on column baton.idempotency_keys.created_at is 'When the first request claimed the key (reset when a stale in-progress claim is taken over)';
comment on column baton.idempotency_keys.completed_at is 'When the response was stored';
comment on column baton.idempotency_keys.expires_at is 'After this the key is forgotten: a request may reuse it, and the pruner deletes the row';

create index idempotency_keys_expires_idx on baton.idempotency_keys (expires_at);
comment on index baton.idempotency_keys_expires_idx is 'Serves the pruner (delete where expires_at <= now())';
