-- ilt_session_days: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('ilt_session_days'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}             as session_day_id,
    {{ litmos_string('SessionId') }}      as session_id,
    {{ litmos_timestamp('StartDate') }}   as starts_at,
    {{ litmos_timestamp('EndDate') }}     as ends_at,
    {{ litmos_string('StartTime') }}      as start_time_text,
    {{ litmos_string('EndTime') }}        as end_time_text,
    {{ litmos_bool('SendReminder') }}     as is_reminder_sent,
    {{ litmos_int('ReminderValue') }}     as reminder_value,
    {{ litmos_string('ReminderMetric') }} as reminder_metric,
    {{ litmos_timestamp('CreatedDate') }} as created_at
from latest
