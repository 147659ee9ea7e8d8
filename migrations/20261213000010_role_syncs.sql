-- N6: the Discord side of membership decisions. A decision (a join, an
-- approval, an accepted invitation, a new leader, a leave or removal, a
-- reconcile repair) commits its rows and one row here in one transaction;
-- a paced worker (service::applier) then makes the member's group role on
-- Discord match Postgres as it stands when the row runs (granted while they
-- are a member, taken otherwise), holding no connection while it waits on
-- Discord. Rows of one member and group run oldest first, one at a time.
create table role_syncs (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    group_id bigint not null references groups (id) on delete cascade,
    user_id bigint not null,
    -- the audit action of the decision that asked ('membership.join', ...)
    cause text not null,
    -- who decided (for the audit entry of a refusal)
    actor_id bigint,
    -- the decision admitted the member: when Discord refuses the grant for
    -- good (403, a role gone or made unsafe, the member gone), the
    -- membership is ended again. A dismissal refused for good is put back.
    admission boolean not null default false,
    dismissal boolean not null default false,
    -- claims: a worker holds the row until claimed_until; claim names it
    attempts integer not null default 0,
    run_at timestamptz not null,
    claimed_until timestamptz,
    claim bigint,
    -- 'applied' (Discord matches), 'refused' (undone in Postgres; outcome_text
    -- says why), null while it waits
    outcome text check (outcome in ('applied', 'refused')),
    outcome_text text,
    done_at timestamptz,
    -- The answer owed to whoever pressed (N6): the interaction's token (it
    -- lives 15 minutes) to edit their answer with, until it expires.
    -- 'owed': the pressing process is still deciding what to show;
    -- 'interim': they were told Discord is applying it, the outcome is owed;
    -- 'final': told. A row with no answer to give is 'none'.
    answer_state text not null default 'none' check (answer_state in ('none', 'owed', 'interim', 'final')),
    answer_token text,
    answer_expires_at timestamptz,
    created_at timestamptz not null
);

-- The worker's claim: due rows not yet done.
create index role_syncs_due on role_syncs (run_at) where done_at is null;
-- One member and group at a time, oldest first; reconcile skips pairs that wait.
create index role_syncs_pair on role_syncs (group_id, user_id) where done_at is null;
-- Answers owed (the sweep after a crash).
create index role_syncs_owed on role_syncs (created_at) where answer_state in ('owed', 'interim');

-- Each claim's token (a row is finished only by its current claim).
create sequence role_syncs_claim_seq;
