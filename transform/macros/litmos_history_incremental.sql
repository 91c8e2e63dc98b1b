{#- The incremental build of team_course_compliance_daily (docs/dbt.md, "Compliance over
    time", "Incremental builds"). An incremental run rebuilds the days from
    `litmos_history_rebuild_from()` on and keeps the older ones of the window; the rule
    that makes it equal a full rebuild is written there. -#}

{#- The raw streams whose rows carry the history's events, each with its keys and the
    column its staging model picks the latest version by. -#}
{% macro litmos_history_event_streams() -%}
    {{ return([
        {'stream': 'achievements', 'keys': ['AchievementId'], 'order_by': 'AchievementDate'},
        {'stream': 'course_results', 'keys': ['UserId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'user_courses', 'keys': ['UserId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'user_learning_paths', 'keys': ['LearningPathId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'team_users', 'keys': ['TeamId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'team_courses', 'keys': ['TeamId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'team_learning_paths', 'keys': ['TeamId', 'Id'], 'order_by': 'UpdatedDate'},
        {'stream': 'learning_path_courses', 'keys': ['LearningPathId', 'Id'], 'order_by': 'UpdatedDate'},
    ]) }}
{%- endmacro %}

{#- The newest extraction among the event streams: what a build was built from. -#}
{% macro litmos_history_extracted_at() -%}
    (select max(extracted_at) from (
    {%- for spec in litmos_history_event_streams() %}
        select max({{ litmos_column('_sdc_extracted_at') }}) as extracted_at
        from (select * from {{ litmos_source(spec.stream) }}) as {{ spec.stream }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    ) as extractions)
{%- endmacro %}

{#- What else a build depends on, as one string: the settings, and a digest of the
    dimensions every day reads (the inactive users, the teams' and courses' names). A
    different string forces a full rebuild of the window. -#}
{% macro litmos_history_built_with() -%}
    (
        'history_days={{ var("litmos_history_days") }};expiring_days={{ var("litmos_expiring_days") }};as_of={{ var("litmos_as_of", "") }};dimensions='
        || md5(
            coalesce((select string_agg(source_relation || ':' || user_id, ',' order by source_relation, user_id)
                from {{ ref('stg_litmos__users') }} where not coalesce(is_active, false)), '')
            || '|' || coalesce((select string_agg(source_relation || ':' || team_id || '=' || coalesce(team_name, ''), ',' order by source_relation, team_id)
                from {{ ref('stg_litmos__teams') }}), '')
            || '|' || coalesce((select string_agg(source_relation || ':' || course_id || '=' || coalesce(course_name, ''), ',' order by source_relation, course_id)
                from {{ ref('stg_litmos__courses') }}), '')
        )
    )
{%- endmacro %}

{#- A raw column of the version `alias`, typed. -#}
{% macro litmos_history_ts(alias, name) -%}
    {{ return(adapter.dispatch('litmos_utc', 'litmos')(alias ~ '.' ~ litmos_column(name))) }}
{%- endmacro %}

{% macro litmos_history_bool(alias, name) -%}
    cast({{ alias }}.{{ litmos_column(name) }} as boolean)
{%- endmacro %}

{#- The dates from which a key's change can change the figures, as (condition, date)
    pairs over its latest version before the build (`o`, absent: all nulls) and its
    latest version since (`n`); the earliest date whose condition holds counts. -#}
{% macro litmos_history_change_dates(stream, since) -%}
    {%- set ts = litmos_history_ts -%}
    {%- set new_key = 'o.litmos_version_rank is null' -%}
    {%- if stream == 'achievements' -%}
        {%- set changed -%}
            ({{ new_key }}
            or {{ ts('o', 'AchievementDate') }} is distinct from {{ ts('n', 'AchievementDate') }}
            or {{ ts('o', 'CompliantTillDate') }} is distinct from {{ ts('n', 'CompliantTillDate') }}
            or o.{{ litmos_column('UserId') }} is distinct from n.{{ litmos_column('UserId') }}
            or o.{{ litmos_column('CourseId') }} is distinct from n.{{ litmos_column('CourseId') }})
        {%- endset -%}
        {{ return([(changed, ts('o', 'AchievementDate')), (changed, ts('n', 'AchievementDate'))]) }}
    {%- elif stream == 'course_results' -%}
        {%- set since_o -%}
            case when {{ litmos_history_bool('o', 'Completed') }}
                then coalesce({{ ts('o', 'CompletedDate') }}, {{ ts('o', 'UpdatedDate') }})
                else {{ ts('o', 'UpdatedDate') }} end
        {%- endset -%}
        {%- set since_n -%}
            case when {{ litmos_history_bool('n', 'Completed') }}
                then coalesce({{ ts('n', 'CompletedDate') }}, {{ ts('n', 'UpdatedDate') }})
                else {{ ts('n', 'UpdatedDate') }} end
        {%- endset -%}
        {#- A result new or (de)activated: its due date and result, and the learner's
            achievements of the course, which count only while an active result exists. -#}
        {%- set whole -%}
            ({{ new_key }}
            or {{ litmos_history_bool('o', 'Active') }} is distinct from {{ litmos_history_bool('n', 'Active') }})
        {%- endset -%}
        {%- set state -%}
            ({{ since_o }} is distinct from {{ since_n }}
            or {{ litmos_history_bool('o', 'Completed') }} is distinct from {{ litmos_history_bool('n', 'Completed') }}
            or {{ ts('o', 'CompliantTillDate') }} is distinct from {{ ts('n', 'CompliantTillDate') }})
        {%- endset -%}
        {%- set due -%}
            ({{ ts('o', 'DueDate') }} is distinct from {{ ts('n', 'DueDate') }})
        {%- endset -%}
        {%- set first_achievement -%}
            (select min({{ ts('a', 'AchievementDate') }})
            from (select * from {{ litmos_source('achievements') }}) as a
            where a.source_relation = n.source_relation
                and a.{{ litmos_column('UserId') }} = n.{{ litmos_column('UserId') }}
                and a.{{ litmos_column('CourseId') }} = n.{{ litmos_column('Id') }})
        {%- endset -%}
        {{ return([
            (whole, since_n), (whole, ts('n', 'DueDate')), (whole, first_achievement),
            (whole, since_o), (whole, ts('o', 'DueDate')),
            (state, since_o), (state, since_n),
            (due, ts('o', 'DueDate')), (due, ts('n', 'DueDate')),
        ]) }}
    {%- else -%}
        {#- A link holds from its CreatedDate until the UpdatedDate of an inactive version. -#}
        {%- set end_o -%}
            case when not {{ litmos_history_bool('o', 'Active') }} then {{ ts('o', 'UpdatedDate') }} end
        {%- endset -%}
        {%- set end_n -%}
            case when not {{ litmos_history_bool('n', 'Active') }} then {{ ts('n', 'UpdatedDate') }} end
        {%- endset -%}
        {%- set start -%}
            (not ({{ new_key }}) and {{ ts('o', 'CreatedDate') }} is distinct from {{ ts('n', 'CreatedDate') }})
        {%- endset -%}
        {%- set ends -%}
            (not ({{ new_key }}) and {{ end_o }} is distinct from {{ end_n }})
        {%- endset -%}
        {#- No version before (new, or an upserting loader kept only the latest): a link
            made more than a day before the last build was loaded by it (links are
            stamped when made and changed), active unless its removal is that old too;
            so a removal since counts from its UpdatedDate, a link made active again
            from its creation (its old end is gone), a recent link from its creation. -#}
        {%- set seen = dbt.dateadd('day', '-1', since) -%}
        {%- set recent -%}
            ({{ new_key }} and {{ ts('n', 'CreatedDate') }} > {{ seen }})
        {%- endset -%}
        {%- set removed_since -%}
            ({{ new_key }} and {{ ts('n', 'CreatedDate') }} <= {{ seen }}
                and {{ ts('n', 'UpdatedDate') }} > {{ seen }}
                and not {{ litmos_history_bool('n', 'Active') }})
        {%- endset -%}
        {%- set active_again -%}
            ({{ new_key }} and {{ ts('n', 'CreatedDate') }} <= {{ seen }}
                and {{ ts('n', 'UpdatedDate') }} > {{ seen }}
                and {{ litmos_history_bool('n', 'Active') }})
        {%- endset -%}
        {{ return([
            (start, ts('o', 'CreatedDate')), (start, ts('n', 'CreatedDate')),
            (ends, end_o), (ends, end_n),
            (recent, ts('n', 'CreatedDate')),
            (removed_since, ts('n', 'UpdatedDate')),
            (active_again, ts('n', 'CreatedDate')),
        ]) }}
    {%- endif -%}
{%- endmacro %}

{#- The latest version of each key of `stream` extracted after (`newer`) or up to `since`,
    ranked as its staging model ranks them. -#}
{% macro litmos_history_latest_versions(spec, since, newer) -%}
    select * from (
        select
            versions.*,
            row_number() over (
                partition by source_relation
                {%- for key in spec['keys'] %}, {{ litmos_column(key) }}{% endfor %}
                order by {{ litmos_column(spec.order_by) }} desc nulls last,
                    {{ litmos_column('_sdc_extracted_at') }} desc nulls last
            ) as litmos_version_rank
        from (select * from {{ litmos_source(spec.stream) }}) as versions
        where {{ litmos_column('_sdc_extracted_at') }} {{ '>' if newer else '<=' }} {{ since }}
    ) as ranked
    where litmos_version_rank = 1
{%- endmacro %}

{#- The earliest day the rows extracted after `since` (an SQL expression) can change:
    per key with a version since, compared with its latest version before, the earliest
    date from which the difference shows (litmos_history_change_dates); a version equal
    to the one before (a snapshot extracted again) changes nothing. One day earlier
    again, as an event at midnight shows on the day before; the caller takes that day. -#}
{% macro litmos_history_changed_since_sql(since) -%}
    {%- set streams = litmos_history_event_streams() -%}
    with
    {%- for spec in streams %}
    changes_{{ spec.stream }} as (
        select
        {%- for condition, date in litmos_history_change_dates(spec.stream, since) %}
            case when {{ condition }} then cast({{ date }} as date) end as changed_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        from ({{ litmos_history_latest_versions(spec, since, true) }}) as n
        left join ({{ litmos_history_latest_versions(spec, since, false) }}) as o
            on o.source_relation = n.source_relation
            {%- for key in spec['keys'] %}
            and o.{{ litmos_column(key) }} = n.{{ litmos_column(key) }}
            {%- endfor %}
    ){% if not loop.last %},{% endif %}
    {%- endfor %}
    select min(event_date) as changed_from from (
    {%- for spec in streams %}
        {%- set outer_last = loop.last %}
        {%- for pair in litmos_history_change_dates(spec.stream, since) %}
        select changed_{{ loop.index }} as event_date from changes_{{ spec.stream }}
        {% if not (loop.last and outer_last) %}union all{% endif %}
        {%- endfor %}
    {%- endfor %}
    ) as event_dates
{%- endmacro %}

{#- The first day an incremental run rebuilds, as 'YYYY-MM-DD', or none: a full rebuild
    (not incremental, an empty table, other settings or dimensions). The last day built
    is always rebuilt (it was judged at as_of, the next run judges it at its end). -#}
{% macro litmos_history_rebuild_from() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set built = run_query(
        'select max(built_from_extracted_at), max(calendar_date), min(built_with), max(built_with) from '
        ~ this
    ) -%}
    {%- set built_from, last_built, built_with_min, built_with_max = built.rows[0] -%}
    {%- if built_from is none or last_built is none or built_with_min != built_with_max -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set now_with = run_query('select ' ~ litmos_history_built_with()).rows[0][0] -%}
    {%- if now_with != built_with_max -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed_from = run_query(litmos_history_changed_since_sql(
        '(select max(built_from_extracted_at) from ' ~ this ~ ')'
    )).rows[0][0] -%}
    {%- set rebuild_from = last_built -%}
    {%- if changed_from is not none and changed_from < rebuild_from -%}
        {%- set rebuild_from = changed_from -%}
    {%- endif -%}
    {{ return(modules.datetime.date.fromordinal(rebuild_from.toordinal() - 1).isoformat()) }}
{%- endmacro %}

{#- The pre-hook of an incremental run: delete the days it rebuilds, and the days that
    have left the window (older than its first day, as int_litmos__history_days counts
    them: an ephemeral model cannot be read from a hook). -#}
{% macro litmos_history_delete_rebuilt_days() -%}
    {%- if execute and is_incremental() -%}
        {%- set rebuild_from = litmos_history_rebuild_from() -%}
        delete from {{ this }}
        {%- if rebuild_from %}
        where calendar_date >= cast('{{ rebuild_from }}' as date)
            or calendar_date < cast({{ dbt.dateadd(
                'day',
                '-1 * (' ~ var('litmos_history_days') ~ ' - 1)',
                'cast(' ~ litmos_as_of() ~ ' as date)'
            ) }} as date)
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
