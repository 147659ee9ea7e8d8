-- Every copy of a join request's card (R2): the one in the group's review
-- thread, or, when there is no usable requests channel, one in each
-- leader's DMs, or, when no leader could be reached, one in the mod
-- channel. A decision (or a withdrawal, an expiry) is shown on all of them.
-- `join_requests.card_channel_id/card_message_id` keep pointing at the card
-- in a server channel (thread or mod channel), which alerts link to.
create table request_cards (
    id bigint generated always as identity primary key,
    request_id bigint not null references join_requests (id) on delete cascade,
    -- where it is: 'thread' (review thread), 'dm' (a leader's DMs), 'mod' (the mod channel)
    place text not null check (place in ('thread', 'dm', 'mod')),
    channel_id bigint not null,
    message_id bigint not null unique,
    -- the leader whose DMs hold it
    recipient_id bigint,
    created_at timestamptz not null default now(),
    check ((place = 'dm') = (recipient_id is not null))
);
create index request_cards_request_idx on request_cards (request_id);

-- Cards posted before this table existed were all in review threads.
insert into request_cards (request_id, place, channel_id, message_id)
select id, 'thread', card_channel_id, card_message_id
from join_requests
where card_channel_id is not null and card_message_id is not null;
