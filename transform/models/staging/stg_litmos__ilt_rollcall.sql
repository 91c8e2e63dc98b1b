-- ilt_rollcall: one row per (source_relation, SessionId, Id).
-- An opt-in stream: until an account selects and loads it, it adds no rows (and until
-- none has, this is an empty relation of its columns).
{% set raw_columns = {
    'SessionId': 'string',
    'Id': 'string',
    'CourseId': 'string',
    'ModuleId': 'string',
    'EventStatus': 'int',
    'FirstName': 'string',
    'LastName': 'string',
    'Email': 'string',
    'CompanyName': 'string',
    'Score': 'int',
    'Completed': 'bool'
} %}

with latest as (
    {{ litmos_latest(litmos_source('ilt_rollcall', raw_columns), ['SessionId', 'Id']) }}
)

select
    source_relation,
    {{ litmos_string('SessionId') }}   as session_id,
    {{ litmos_string('Id') }}          as user_id,
    {{ litmos_string('CourseId') }}    as course_id,
    {{ litmos_string('ModuleId') }}    as module_id,
    {{ litmos_int('EventStatus') }}    as event_status,
    {{ litmos_string('FirstName') }}   as first_name,
    {{ litmos_string('LastName') }}    as last_name,
    {{ litmos_string('Email') }}       as email,
    {{ litmos_string('CompanyName') }} as company_name,
    {{ litmos_int('Score') }}          as score,
    {{ litmos_bool('Completed') }}     as is_completed
from latest
