-- Each group's member count (memberships that are not away), kept by the
-- database itself so that the Group Page and the directory read one row
-- instead of counting every membership of the group on every view: a count
-- was O(members) of PostgreSQL's CPU per page (2-3 ms at 20,000 members),
-- the largest share of its time per interaction in the benchmark.
--
-- A table of its own, not a column of `groups`: a join's commit updates it,
-- and nothing else ever locks these rows. The trigger is a deferred
-- constraint trigger, so it runs at commit: concurrent joins to one group
-- hold its counter row only from their commit to its end, never across the
-- Discord call inside the join's transaction.
create table group_member_counts (
    group_id bigint primary key references groups (id) on delete cascade,
    members bigint not null
);

insert into group_member_counts (group_id, members)
select g.id, (select count(*) from memberships m where m.group_id = g.id and m.away_since is null)
from groups g;

create function group_member_counts_follow() returns trigger
language plpgsql as $$
declare
    gid bigint;
    delta bigint := 0;
begin
    if tg_op in ('UPDATE', 'DELETE') and old.away_since is null then
        delta := delta - 1;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.away_since is null then
        delta := delta + 1;
    end if;
    gid := case when tg_op = 'DELETE' then old.group_id else new.group_id end;
    if tg_op = 'UPDATE' and old.group_id <> new.group_id then
        raise exception 'memberships.group_id never changes';
    end if;
    -- A group deleted in this transaction took its memberships with it.
    if delta = 0 or not exists (select 1 from groups where id = gid) then
        return null;
    end if;
    insert into group_member_counts as c (group_id, members) values (gid, delta)
    on conflict (group_id) do update set members = c.members + excluded.members;
    return null;
end
$$;

create constraint trigger group_member_counts_follow
after insert or update or delete on memberships
deferrable initially deferred
for each row execute function group_member_counts_follow();
