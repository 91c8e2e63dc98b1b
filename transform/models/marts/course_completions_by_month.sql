-- Per account, course and calendar month (UTC): the completions Litmos recorded (one
-- achievement per completion, whatever its Result, so a learner who completes a course
-- twice counts twice), the distinct learners among them, and their mean score (numeric
-- scores only). Learning path completions (achievements whose CourseId is a path) are
-- left out.

select
    courses.source_relation,
    courses.course_id,
    cast({{ dbt.date_trunc('month', 'achievements.achieved_at') }} as date) as completion_month,
    courses.course_name,
    count(*)                                                    as completions,
    count(distinct achievements.user_id)                        as distinct_learners,
    count(achievements.score)                                   as scored_completions,
    {{ litmos_round('avg(achievements.score)', 2) }}            as mean_score
from {{ ref('stg_litmos__achievements') }} as achievements
inner join {{ ref('stg_litmos__courses') }} as courses
    on achievements.source_relation = courses.source_relation
    and achievements.course_or_learning_path_id = courses.course_id
group by
    courses.source_relation,
    courses.course_id,
    cast({{ dbt.date_trunc('month', 'achievements.achieved_at') }} as date),
    courses.course_name
