-- users: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('users'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}                 as user_id,
    {{ litmos_string('UserName') }}           as user_name,
    {{ litmos_string('FirstName') }}          as first_name,
    {{ litmos_string('LastName') }}           as last_name,
    {{ litmos_string('FullName') }}           as full_name,
    {{ litmos_string('Email') }}              as email,
    {{ litmos_string('AccessLevel') }}        as access_level,
    {{ litmos_bool('Active') }}               as is_active,
    {{ litmos_bool('DisableMessages') }}      as is_messages_disabled,
    {{ litmos_timestamp('LastLogin') }}       as last_login_at,
    {{ litmos_timestamp('CreatedDate') }}     as created_at,
    {{ litmos_int('OriginalId') }}            as original_id,
    {{ litmos_string('ManagerId') }}          as manager_user_id,
    {{ litmos_string('ManagerName') }}        as manager_name,
    {{ litmos_string('JobTitle') }}           as job_title,
    {{ litmos_string('JobRole') }}            as job_role,
    {{ litmos_string('CompanyName') }}        as company_name,
    {{ litmos_string('City') }}               as city,
    {{ litmos_string('State') }}              as state,
    {{ litmos_string('Country') }}            as country,
    {{ litmos_string('TimeZone') }}           as time_zone,
    {{ litmos_string('Culture') }}            as culture,
    {{ litmos_string('Brand') }}              as brand,
    {{ litmos_int('Points') }}                as points,
    {{ litmos_string('ExternalEmployeeId') }} as external_employee_id,
    {{ litmos_string('SalesforceId') }}       as salesforce_id,
    {{ litmos_string('CustomField1') }}       as custom_field_1,
    {{ litmos_string('CustomField2') }}       as custom_field_2,
    {{ litmos_string('CustomField3') }}       as custom_field_3,
    {{ litmos_string('CustomField4') }}       as custom_field_4,
    {{ litmos_string('CustomField5') }}       as custom_field_5,
    {{ litmos_string('CustomField6') }}       as custom_field_6,
    {{ litmos_string('CustomField7') }}       as custom_field_7,
    {{ litmos_string('CustomField8') }}       as custom_field_8,
    {{ litmos_string('CustomField9') }}       as custom_field_9,
    {{ litmos_string('CustomField10') }}      as custom_field_10
from latest
