-- O2: how many members each group had over time, for /stats and /group
-- stats. Memberships that end are deleted, so the history is kept beside
-- them, by the database itself, whatever path changes a membership (a join,
-- an approval, an accepted invitation, a hand change reconciled, a member
-- leaving the server and coming back): +1 when a membership starts counting
-- (inserted, or back from away), -1 when it stops (deleted, or away).
create table membership_changes (
    id bigint generated always as identity primary key,
    guild_id bigint not null,
    -- no foreign key: a group's history goes with it (the rows of a deleted
    -- group are never read again)
    group_id bigint not null,
    delta smallint not null check (delta in (-1, 1)),
    at timestamptz not null default now()
);
create index membership_changes_guild_at_idx on membership_changes (guild_id, at);
create index membership_changes_group_at_idx on membership_changes (group_id, at);

create function membership_counted() returns trigger language plpgsql as $$
declare
    gid bigint;
    d smallint;
    guild bigint;
begin
    if tg_op = 'INSERT' then
        if new.away_since is not null then return null; end if;
        gid := new.group_id;
        d := 1;
    elsif tg_op = 'DELETE' then
        if old.away_since is not null then return null; end if;
        gid := old.group_id;
        d := -1;
    else
        if (old.away_since is null) = (new.away_since is null) then return null; end if;
        gid := new.group_id;
        d := case when new.away_since is null then 1 else -1 end;
    end if;
    select g.guild_id into guild from groups g where g.id = gid;
    -- the group itself is being deleted (the cascade removes its members)
    if guild is null then return null; end if;
    insert into membership_changes (guild_id, group_id, delta) values (guild, gid, d);
    return null;
end
$$;

create trigger memberships_counted
    after insert or delete or update of away_since on memberships
    for each row execute function membership_counted();

-- Memberships from before this migration count from when they began
-- (those that ended before it are not known).
insert into membership_changes (guild_id, group_id, delta, at)
select g.guild_id, m.group_id, 1, m.joined_at
  from memberships m join groups g on g.id = m.group_id
 where m.away_since is null;
