-- Adoption (G2): a Discord role or channel belongs to at most one group, so
-- adopting one that another group already uses is refused by the database
-- itself, even when two admins adopt at once. Null ids (a group still being
-- made) never conflict.
alter table groups
    add constraint groups_guild_role_key unique (guild_id, role_id),
    add constraint groups_guild_channel_key unique (guild_id, channel_id);
