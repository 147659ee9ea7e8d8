-- N6: a decision that admits (an approved join request, an accepted
-- invitation, an approved lead application) queues its grant like a join.
-- When Discord refuses the grant for good, the admission is ended and the
-- decision reopened: the row names what to reopen.
alter table role_syncs
    add column reopens text check (reopens in ('request', 'invitation', 'lead_application')),
    add column reopens_id bigint,
    add constraint role_syncs_reopens_both check ((reopens is null) = (reopens_id is null));
