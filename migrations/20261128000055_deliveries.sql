-- Notification delivery (S5): per-member modes, a server-wide default, the
-- durable queue of DMs and digests, members whose DMs are closed, and the
-- items waiting for a member's daily digest.

-- How a member hears about what they follow. No row = the server's default.
create table notification_prefs (
    guild_id bigint not null,
    user_id bigint not null,
    mode text not null check (mode in ('mention', 'dm', 'digest', 'off')),
    updated_at timestamptz not null,
    primary key (guild_id, user_id)
);

-- The server-wide default mode (A1 "defaults").
alter table guild_settings
    add column notify_default_mode text not null default 'mention'
        check (notify_default_mode in ('mention', 'dm', 'digest', 'off'));

-- A user's DM channel with the bot (saves a call per DM), and since when
-- their DMs are closed to the bot (Discord error 50007): no DM is queued or
-- retried for them until they choose a DM mode again.
create table dm_status (
    user_id bigint primary key,
    dm_channel_id bigint,
    closed_at timestamptz
);

-- The durable queue: one row per DM to send. `dedupe_key` makes one event
-- produce at most one job per member; workers claim rows with
-- `for update skip locked` and a lease (`locked_until`), so a crashed
-- worker's jobs come back and two bot processes share the queue. The row id
-- is the message nonce, so a resend after a crash between the send and the
-- commit returns the first message instead of posting again.
create table deliveries (
    id bigserial primary key,
    guild_id bigint not null,
    user_id bigint not null,
    kind text not null check (kind in ('dm', 'digest')),
    dedupe_key text not null unique,
    content text not null check (char_length(content) <= 2000),
    run_at timestamptz not null,
    attempts integer not null default 0,
    state text not null default 'pending' check (state in ('pending', 'sent', 'failed', 'dropped')),
    locked_until timestamptz,
    last_error text,
    message_id bigint,
    created_at timestamptz not null,
    done_at timestamptz
);
create index deliveries_due on deliveries (run_at, id) where state = 'pending';

-- What a member in digest mode will read in their next daily digest. `day`
-- is the UTC day of the event by the bot's clock.
create table digest_items (
    id bigserial primary key,
    guild_id bigint not null,
    user_id bigint not null,
    day date not null,
    dedupe_key text not null,
    line text not null,
    created_at timestamptz not null,
    -- set when the day's digest was queued
    digested_at timestamptz,
    unique (user_id, dedupe_key)
);
create index digest_items_open on digest_items (day) where digested_at is null;

-- A message (thread message or post reply) whose notifications were made,
-- so a replayed MESSAGE_CREATE notifies once.
create table notified_messages (
    message_id bigint primary key,
    guild_id bigint not null,
    notified_at timestamptz not null
);

-- Topics in followed channels that are not a group's are announced too
-- (forum subscriptions, S3): they have no group.
alter table announced_topics alter column group_id drop not null;
