-- Requests to join closed groups (R1-R4): per-group automatic criteria, the
-- requests themselves, and the private review thread of each group.

alter table groups
    add column min_days_in_server integer not null default 0 check (min_days_in_server between 0 and 3650),
    add column min_account_age_days integer not null default 0 check (min_account_age_days between 0 and 3650),
    -- a requester must hold every one of these roles ...
    add column required_role_ids bigint[] not null default '{}',
    -- ... and none of these
    add column blocked_role_ids bigint[] not null default '{}';

create table join_requests (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    message text check (char_length(message) <= 1000),
    status text not null default 'pending'
        check (status in ('pending', 'approved', 'denied', 'withdrawn', 'expired')),
    decided_by bigint,
    decided_at timestamptz,
    -- why it was denied (optional), shown to the requester
    reason text check (char_length(reason) <= 1000),
    -- the card in the group's review thread; null while there is none
    card_channel_id bigint,
    card_message_id bigint,
    -- outcome DM: null = not sent (yet), true = delivered, false = DMs closed
    dm_delivered boolean,
    -- what went wrong with the last attempt to approve, shown to the requester
    note text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((status = 'pending') = (decided_at is null))
);

-- one pending request per member per group
create unique index join_requests_one_pending on join_requests (group_id, user_id) where status = 'pending';
create index join_requests_guild_status on join_requests (guild_id, status);

-- each group's private review thread in the requests channel
create table request_threads (
    group_id bigint primary key references groups (id) on delete cascade,
    channel_id bigint not null,
    thread_id bigint not null
);
