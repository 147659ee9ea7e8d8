-- Open membership (M1-M4), guidelines (M2), leaders, bans, configuration
-- (A1) and group details (G2).

alter table groups
    -- shown on the Group Page: who the group is for
    add column criteria text not null default '' check (char_length(criteria) <= 1000),
    -- open groups: whether members may post (everyone may always read)
    add column members_can_post boolean not null default true,
    -- whether the role was adopted (kept on delete) rather than made by the bot
    add column adopted_role boolean not null default false,
    add column adopted_channel boolean not null default false;

alter table guild_settings
    add column mod_channel_id bigint,
    add column requests_channel_id bigint,
    -- the persistent directory message an admin posted (G4)
    add column directory_channel_id bigint,
    add column directory_message_id bigint,
    add column guidelines_text text not null default '' check (char_length(guidelines_text) <= 4000),
    -- 0 = no guidelines set yet; acceptance is asked again when it goes up
    add column guidelines_version integer not null default 0;

-- a member accepted a version of the guidelines (M2)
create table guideline_acceptances (
    guild_id bigint not null,
    user_id bigint not null,
    version integer not null,
    accepted_at timestamptz not null default now(),
    primary key (guild_id, user_id, version)
);

create table group_leaders (
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    added_by bigint,
    added_at timestamptz not null default now(),
    primary key (group_id, user_id)
);

-- users a group's leaders banned from joining or asking to join it (M4)
create table group_bans (
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    banned_by bigint not null,
    reason text,
    created_at timestamptz not null default now(),
    primary key (group_id, user_id)
);

-- what a member follows (S2); joining a group subscribes to it (S1)
create table subscriptions (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    user_id bigint not null,
    kind text not null check (kind in ('group', 'forum', 'thread', 'post')),
    -- a group id for 'group', a Discord channel/thread/message id otherwise
    target_id bigint not null,
    created_at timestamptz not null default now(),
    unique (user_id, kind, target_id)
);
create index subscriptions_target_idx on subscriptions (kind, target_id);
