-- Issue #25: the newest guidelines prompt shown to a member of a server,
-- named by the interaction that showed it (a snowflake, so newer is
-- larger). *I agree* on any older prompt is refused as outdated, so a
-- second prompt leaves the first without working buttons.
create table guideline_prompts (
    guild_id bigint not null,
    user_id bigint not null,
    prompt_id bigint not null,
    primary key (guild_id, user_id)
);
