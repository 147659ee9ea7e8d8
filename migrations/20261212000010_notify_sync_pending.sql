-- A notification-role sync that Discord refused (403, 404, 5xx past the
-- retries, a 429 past its wait): the follower's holding of the group's
-- notification role may not match their subscription and mode. The row is
-- written when the sync fails and removed when a later sync succeeds; the
-- background pass retries every row each tick, so the role comes back in
-- step within one tick of Discord taking calls again (N5).
create table notify_sync_pending (
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    guild_id bigint not null,
    since timestamptz not null default now(),
    primary key (group_id, user_id)
);

create index notify_sync_pending_guild on notify_sync_pending (guild_id);
