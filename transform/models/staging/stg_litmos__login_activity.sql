-- login_activity: one row per (source_relation, UserId, LoginDate), the latest by LoginDate.

with latest as (
    {{ litmos_latest(litmos_source('login_activity'), ['UserId', 'LoginDate'], order_by='LoginDate') }}
)

select
    source_relation,
    {{ litmos_string('UserId') }}       as user_id,
    {{ litmos_timestamp('LoginDate') }} as logged_in_at,
    {{ litmos_int('OriginalUserId') }}  as original_user_id,
    {{ litmos_string('UserName') }}     as user_name,
    {{ litmos_string('ActivityType') }} as activity_type,
    {{ litmos_string('IPAddress') }}    as ip_address
from latest
