-- Administration (A1, A2): the audit trail keeps the group's name and a
-- readable detail of what changed, and is read filtered by group or by user,
-- newest first.

alter table audit_log
    -- the group's name when the entry was written, still shown after the
    -- group is deleted (group_id is then set to null)
    add column group_name text,
    -- what changed, for admins to read: a channel or role mention, a version
    add column detail text check (char_length(detail) <= 200);

update audit_log a set group_name = g.name from groups g where g.id = a.group_id;

-- /audit pages newest first (id order is insertion order), optionally for
-- one group, or for one user as actor or subject
create index audit_log_guild_id_idx on audit_log (guild_id, id desc);
create index audit_log_guild_group_idx on audit_log (guild_id, group_id, id desc) where group_id is not null;
create index audit_log_guild_actor_idx on audit_log (guild_id, actor_id, id desc) where actor_id is not null;
create index audit_log_guild_subject_idx on audit_log (guild_id, subject_id, id desc) where subject_id is not null;
