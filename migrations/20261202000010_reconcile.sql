-- Reconciliation (A5) and /health (A4): what the bot does when Discord
-- changes under it, members who left the server, and each full pass.

alter table guild_settings
    -- a hand change of a member's group role: follow it (the membership
    -- follows Discord), restore what Postgres says, or only report it
    add column reconcile_policy text not null default 'follow'
        check (reconcile_policy in ('follow', 'restore', 'report')),
    -- a member who comes back gets the roles of their groups again
    add column restore_returning boolean not null default true;

-- A member who left the server keeps their memberships, "away": not counted,
-- not notified, not listed, until they come back.
alter table memberships
    add column away_since timestamptz,
    -- whether they followed the group when they left (restored on return)
    add column was_subscribed boolean not null default false;

-- Users who left a server (GUILD_MEMBER_REMOVE, or missing from a full
-- pass): nothing is delivered to them until they come back.
create table departed_members (
    guild_id bigint not null,
    user_id bigint not null,
    left_at timestamptz not null default now(),
    primary key (guild_id, user_id)
);

-- Set while the members of a group whose role was deleted and made again
-- are being given the new role (resumable after a crash: a full pass or the
-- background loop finishes it). While set, a member without the role is
-- missing it, not someone whose role was taken by hand.
alter table groups add column regrant_pending boolean not null default false,
    -- the last problem with the group's role that admins were told of (an
    -- elevated permission, a place above the bot), so each is told once
    add column role_problem text;

-- Every full pass: when, why, by whom, and what it found.
create table reconcile_runs (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    -- 'session' (after a READY), 'command' (/reconcile's Apply), 'dry-run'
    trigger text not null check (trigger in ('session', 'command', 'dry-run')),
    actor_id bigint,
    policy text not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    found integer not null default 0,
    repaired integer not null default 0,
    reported integer not null default 0,
    failed integer not null default 0,
    -- one line per difference, for /health and /reconcile
    summary text not null default '' check (char_length(summary) <= 4000)
);
create index reconcile_runs_guild_idx on reconcile_runs (guild_id, id desc);

-- Why an invitation closed without anyone deciding (its invitee or inviter
-- left the server), shown on its card and to the inviter.
alter table invitations add column note text check (char_length(note) <= 200);
