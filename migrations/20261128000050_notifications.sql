-- Notifications (S3, S5 mention mode, S6 exactly once).

-- The per-group role whose mention announces a new topic (S5 default mode).
-- Made lazily, only for groups that have subscribers, so the guild's 250-role
-- limit is spent on groups people follow.
create table notify_roles (
    group_id bigint primary key references groups (id) on delete cascade,
    guild_id bigint not null,
    role_id bigint not null unique,
    created_at timestamptz not null default now()
);

-- A topic (thread) that was announced, or is being announced in an open
-- transaction: the primary key makes the announcement happen once across
-- replayed events, gateway resumes and restarts (S6).
create table announced_topics (
    thread_id bigint primary key,
    guild_id bigint not null,
    group_id bigint not null references groups (id) on delete cascade,
    -- the announcement message
    message_id bigint,
    announced_at timestamptz not null default now()
);

-- From when on topics are announced in a guild: set the first time the bot
-- starts with notifications, so the start-up catch-up never announces topics
-- older than the feature.
create table notify_watermarks (
    guild_id bigint primary key,
    since timestamptz not null default now()
);
