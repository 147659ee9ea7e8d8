-- DM queue claims carry a token (S5): a worker finishes a job (sent,
-- retry, failed) only while its claim is the job's current one, so a worker
-- whose lease ran out can't overwrite the claim of the worker that took the
-- job over.
create sequence deliveries_claim_seq;
alter table deliveries add column claim_token bigint;

-- A member's digest for one day is taken by one pass at a time: the pass
-- holds this row while it collects the day's items.
create table digest_runs (
    guild_id bigint not null,
    user_id bigint not null,
    day date not null,
    runs integer not null default 0,
    primary key (guild_id, user_id, day)
);
