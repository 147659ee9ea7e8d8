-- S5, N6: a group's mention-mode followers are pinged by name while they fit
-- (notify::BY_NAME_MAX), so a join costs one member-role call, not two; the
-- notification role is handed out only past that. `complete` says whether
-- every follower holds it: false while followers joined without it (or the
-- role is new); the first sync past the limit hands it to the rest.
alter table notify_roles add column complete boolean not null default true;
