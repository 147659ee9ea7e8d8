-- A role or channel of a deleted group that Discord would not delete (a
-- 403, a 5xx past the retries) or said it no longer had (a 404, taken at
-- its word only once it says so again): the background pass deletes it
-- again until Discord says it is gone, so nothing the bot made outlives the
-- row that owned it (N5).
create table discord_leftovers (
    object_id bigint primary key,
    guild_id bigint not null,
    kind text not null check (kind in ('role', 'channel')),
    -- The audit-log reason of the first try, given again with each retry.
    reason text not null,
    since timestamptz not null default now()
);
