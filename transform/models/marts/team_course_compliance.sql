-- Per account, team and course: how many of the team's learners are assigned it (by any
-- route), have completed it, are overdue, and are compliant. Members are the team's
-- current members (team_users as of the last load) who are active users; a learner in two
-- teams counts in both. Teams are not rolled up into their parent teams.

with members as (
    select team_users.source_relation, team_users.team_id, team_users.user_id
    from {{ ref('stg_litmos__team_users') }} as team_users
    inner join {{ ref('stg_litmos__users') }} as users
        on team_users.source_relation = users.source_relation
        and team_users.user_id = users.user_id
    where users.is_active
)

select
    members.source_relation,
    members.team_id,
    assignments.course_id,
    teams.team_name,
    assignments.course_name,
    count(*)                                                                     as learners_assigned,
    sum(case when assignments.is_completed then 1 else 0 end)                    as learners_completed,
    sum(case when assignments.is_overdue then 1 else 0 end)                      as learners_overdue,
    sum(case when assignments.status in ('compliant', 'expiring') then 1 else 0 end) as learners_compliant,
    sum(case when assignments.status = 'expiring' then 1 else 0 end)             as learners_expiring,
    sum(case when assignments.status = 'expired' then 1 else 0 end)              as learners_expired,
    {{ litmos_round(
        "1.0 * sum(case when assignments.status in ('compliant', 'expiring') then 1 else 0 end) / count(*)", 4
    ) }}                                                                         as compliant_share
from members
inner join {{ ref('stg_litmos__teams') }} as teams
    on members.source_relation = teams.source_relation
    and members.team_id = teams.team_id
inner join {{ ref('learner_course_assignments') }} as assignments
    on members.source_relation = assignments.source_relation
    and members.user_id = assignments.user_id
group by
    members.source_relation,
    members.team_id,
    assignments.course_id,
    teams.team_name,
    assignments.course_name
