-- Applications to lead a group (L1-L3) and the leaderless-group flag (L4).

create table lead_applications (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    applicant_id bigint not null,
    -- set when applying to lead an existing group ...
    group_id bigint references groups (id) on delete cascade,
    -- ... or these when proposing a new one
    proposed_name text check (char_length(proposed_name) between 1 and 100),
    proposed_bucket text check (proposed_bucket in ('identity', 'industry', 'interest', 'impact')),
    proposed_description text not null default '' check (char_length(proposed_description) <= 1000),
    motivation text not null check (char_length(motivation) between 1 and 1000),
    experience text not null check (char_length(experience) between 1 and 1000),
    hours_per_week integer not null check (hours_per_week between 1 and 168),
    status text not null default 'open' check (status in ('open', 'approved', 'declined', 'withdrawn')),
    decided_by bigint,
    decided_at timestamptz,
    -- why it was declined (required then), shown to the applicant
    reason text check (char_length(reason) <= 1000),
    -- the group an approved proposal created
    created_group_id bigint references groups (id) on delete set null,
    -- the card in the mod channel; null while no mod channel could take it
    mod_channel_id bigint,
    mod_message_id bigint,
    thread_id bigint,
    -- outcome DM: null = not sent (yet), true = delivered, false = the applicant's DMs are closed
    dm_delivered boolean,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((group_id is null) <> (proposed_name is null)),
    check ((proposed_name is null) = (proposed_bucket is null)),
    check ((status = 'open') = (decided_at is null))
);

-- one open application per member per group, and per proposed name (any letter case)
create unique index lead_applications_open_group_key
    on lead_applications (applicant_id, group_id) where status = 'open' and group_id is not null;
create unique index lead_applications_open_proposal_key
    on lead_applications (guild_id, applicant_id, lower(proposed_name)) where status = 'open' and proposed_name is not null;
create index lead_applications_guild_open_idx on lead_applications (guild_id, created_at) where status = 'open';
create index lead_applications_applicant_idx on lead_applications (guild_id, applicant_id, created_at desc);

alter table groups
    -- when admins were told the group has no active leader (L4); cleared when a leader is added
    add column leaderless_flagged_at timestamptz;
