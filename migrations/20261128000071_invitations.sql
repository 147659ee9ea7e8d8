-- Invitations (M5): a leader (or a member, where the group allows it)
-- invites someone; the invitee accepts or declines from a DM or `/invites`;
-- invitations expire and are capped per inviter per day.

alter table groups
    -- whether members who don't lead the group may invite people to it
    add column members_can_invite boolean not null default false;

alter table guild_settings
    -- days before a pending invitation expires
    add column invite_expiry_days integer not null default 7 check (invite_expiry_days between 1 and 30),
    -- invitations one member may send in any 24 hours
    add column invite_daily_cap integer not null default 10 check (invite_daily_cap between 1 and 100);

create table invitations (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    group_id bigint not null references groups (id) on delete cascade,
    inviter_id bigint not null,
    invitee_id bigint not null,
    status text not null default 'pending'
        check (status in ('pending', 'accepted', 'declined', 'expired', 'revoked')),
    -- by the bot's clock (the daily cap and expiry are measured against it)
    created_at timestamptz not null,
    expires_at timestamptz not null,
    decided_by bigint,
    decided_at timestamptz,
    -- the invitation card in the invitee's DMs; null when their DMs are closed
    card_channel_id bigint,
    card_message_id bigint,
    -- invitation DM: null = not sent yet, true = delivered, false = DMs closed
    invitee_dm_delivered boolean,
    -- outcome DM to the inviter: null = not sent (yet), true = delivered, false = DMs closed
    inviter_dm_delivered boolean,
    check ((status = 'pending') = (decided_at is null)),
    check (expires_at > created_at)
);

-- one pending invitation per invitee per group
create unique index invitations_one_pending on invitations (group_id, invitee_id) where status = 'pending';
create index invitations_inviter_idx on invitations (guild_id, inviter_id, created_at desc);
create index invitations_invitee_idx on invitations (guild_id, invitee_id, id desc);
create index invitations_due_idx on invitations (expires_at) where status = 'pending';
