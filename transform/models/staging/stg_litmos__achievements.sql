-- achievements: one row per (source_relation, AchievementId), the latest by AchievementDate.

with latest as (
    {{ litmos_latest(litmos_source('achievements'), ['AchievementId'], order_by='AchievementDate') }}
)

select
    source_relation,
    {{ litmos_int('AchievementId') }}           as achievement_id,
    {{ litmos_string('UserId') }}               as user_id,
    {{ litmos_string('CourseId') }}             as course_or_learning_path_id,
    {{ litmos_string('Type') }}                 as achievement_type,
    {{ litmos_string('Title') }}                as title,
    {{ litmos_string('Description') }}          as description,
    {{ litmos_timestamp('AchievementDate') }}   as achieved_at,
    {{ litmos_timestamp('CompliantTillDate') }} as compliant_till,
    {{ litmos_string('Score') }}                as score_text,
    {{ litmos_string('Result') }}               as result,
    {{ litmos_string('FirstName') }}            as first_name,
    {{ litmos_string('LastName') }}             as last_name,
    {{ litmos_int('CertificateId') }}           as certificate_id,
    {{ litmos_text_to_number(litmos_column('Score')) }} as score
from latest
