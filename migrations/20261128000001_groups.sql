-- Groups, the four bucket categories, memberships and the audit trail.
-- Discord ids (snowflakes) are stored as bigint.

create table guild_settings (
    guild_id bigint primary key,
    -- members holding this role count as admins, besides Manage Server
    admin_role_id bigint,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- the Discord category that holds each bucket's group channels
create table bucket_categories (
    guild_id bigint not null,
    bucket text not null check (bucket in ('identity', 'industry', 'interest', 'impact')),
    category_id bigint not null,
    created_at timestamptz not null default now(),
    primary key (guild_id, bucket)
);

create table groups (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    name text not null check (char_length(name) between 1 and 100),
    bucket text not null check (bucket in ('identity', 'industry', 'interest', 'impact')),
    visibility text not null check (visibility in ('open', 'closed')),
    description text not null default '' check (char_length(description) <= 1000),
    -- null only while the group's role and channel are being made
    role_id bigint,
    channel_id bigint,
    created_by bigint not null,
    archived_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- names are unique per server ignoring letter case
create unique index groups_guild_name_key on groups (guild_id, lower(name));
create index groups_guild_bucket_idx on groups (guild_id, bucket) where archived_at is null;

create table memberships (
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    joined_at timestamptz not null default now(),
    primary key (group_id, user_id)
);

create table audit_log (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    -- null when the bot acted on its own
    actor_id bigint,
    subject_id bigint,
    group_id bigint references groups (id) on delete set null,
    action text not null,
    reason text,
    created_at timestamptz not null default now()
);
create index audit_log_guild_idx on audit_log (guild_id, created_at desc);
