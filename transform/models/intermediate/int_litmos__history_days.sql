-- The days of the history marts: the `litmos_history_days` calendar days (UTC) up to
-- as_of's date, each with the instant its figures are judged at: the end of the day (the
-- midnight after it), the last day's at as_of itself, so the last day is today's marts.

with digits as (
    select 0 as n union all select 1 union all select 2 union all select 3 union all
    select 4 union all select 5 union all select 6 union all select 7 union all
    select 8 union all select 9
),

offsets as (
    select thousands.n * 1000 + hundreds.n * 100 + tens.n * 10 + ones.n as days_back
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

as_of as (
    select {{ litmos_as_of() }} as as_of
),

days as (
    select
        cast({{ dbt.dateadd('day', '-1 * offsets.days_back', 'cast(as_of.as_of as date)') }} as date)
            as calendar_date,
        as_of.as_of
    from offsets
    cross join as_of
    where offsets.days_back < {{ var('litmos_history_days') }}
)

select
    calendar_date,
    case
        when {{ dbt.dateadd('day', '1', 'cast(calendar_date as timestamp)') }} < as_of
            then cast({{ dbt.dateadd('day', '1', 'cast(calendar_date as timestamp)') }} as timestamp)
        else as_of
    end as judged_at
from days
