-- Request SLA (R5): reminders to the group's leaders after T1, escalation to
-- the admins after T2, expiry after T3; the times and the deny cooldown are
-- set per server (A1). Also the requester's standing when they asked, so a
-- decided card keeps its criteria checklist.

alter table guild_settings
    -- null = the default (24 h, 72 h, 7 days, 7 days)
    add column request_remind_hours integer check (request_remind_hours between 1 and 720),
    add column request_escalate_hours integer check (request_escalate_hours between 1 and 1440),
    add column request_expire_hours integer check (request_expire_hours between 1 and 2160),
    add column request_cooldown_days integer check (request_cooldown_days between 0 and 365);

alter table join_requests
    -- the leaders were reminded (claimed by one bot process)
    add column reminded_at timestamptz,
    -- the admins were alerted
    add column escalated_at timestamptz,
    -- null = not escalated; true = posted in the mod channel; false = it could
    -- not be (no mod channel, or Discord refused): shown in /config show and /requests
    add column escalation_delivered boolean,
    -- the requester when they asked, for the card after a decision
    add column account_age_days integer,
    add column days_in_server integer,
    add column checklist text check (char_length(checklist) <= 1024);

-- the background pass looks for overdue pending requests
create index join_requests_pending_created on join_requests (created_at) where status = 'pending';
