{#- The incremental build of team_course_compliance_daily (docs/dbt.md, "Compliance over
    time", "Incremental builds"). An incremental run rebuilds the days from
    `litmos_history_rebuild_from()` on and keeps the older ones of the window; the rule
    that makes it equal a full rebuild is written there. -#}

{#- The raw streams whose rows carry the history's events: per stream its keys, the
    columns the history reads (a new version equal to an older one in these changes
    nothing), and the dates from which a version can change the figures. -#}
{% macro litmos_history_event_streams() -%}
    {%- set link_columns = ['Active', 'CreatedDate', 'UpdatedDate'] -%}
    {%- set link_dates = ['CreatedDate', 'UpdatedDate'] -%}
    {{ return([
        {'stream': 'achievements', 'keys': ['AchievementId'],
         'columns': ['UserId', 'CourseId', 'AchievementDate', 'CompliantTillDate'],
         'dates': ['AchievementDate']},
        {'stream': 'course_results', 'keys': ['UserId', 'Id'],
         'columns': ['Active', 'Completed', 'CompletedDate', 'UpdatedDate', 'DueDate', 'CompliantTillDate'],
         'dates': ['CompletedDate', 'UpdatedDate', 'DueDate', 'CompliantTillDate']},
        {'stream': 'user_courses', 'keys': ['UserId', 'Id'], 'columns': link_columns, 'dates': link_dates},
        {'stream': 'user_learning_paths', 'keys': ['LearningPathId', 'Id'], 'columns': link_columns, 'dates': link_dates},
        {'stream': 'team_users', 'keys': ['TeamId', 'Id'], 'columns': link_columns, 'dates': link_dates},
        {'stream': 'team_courses', 'keys': ['TeamId', 'Id'], 'columns': link_columns, 'dates': link_dates},
        {'stream': 'team_learning_paths', 'keys': ['TeamId', 'Id'], 'columns': link_columns, 'dates': link_dates},
        {'stream': 'learning_path_courses', 'keys': ['LearningPathId', 'Id'], 'columns': link_columns, 'dates': link_dates},
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

{#- The earliest day an event stream's rows extracted after `since` can change: for each
    key with a new version that differs from every older one in the history's columns,
    the earliest date of any of its versions (the old one's effects end, the new one's
    begin); for a changed course result, also the learner's achievements of the course
    (they count only while the result exists and is active). One day earlier again, as
    an event at midnight shows on the day before. -#}
{% macro litmos_history_changed_since_sql(since) -%}
    {%- set streams = litmos_history_event_streams() -%}
    select min(event_date) as changed_from from (
    {%- for spec in streams %}
        {%- set raw = 'raw_' ~ spec.stream -%}
        {%- set new = 'new_' ~ spec.stream -%}
        {%- set old = 'old_' ~ spec.stream -%}
        {%- for date in spec.dates %}
        select cast({{ litmos_timestamp(date) }} as date) as event_date
        from (select * from {{ litmos_source(spec.stream) }}) as {{ raw }}
        where exists (
            select 1 from (select * from {{ litmos_source(spec.stream) }}) as {{ new }}
            where {{ new }}.{{ litmos_column('_sdc_extracted_at') }} > {{ since }}
            {%- for key in spec['keys'] %}
                and {{ new }}.{{ litmos_column(key) }} = {{ raw }}.{{ litmos_column(key) }}
            {%- endfor %}
                and {{ new }}.source_relation = {{ raw }}.source_relation
                and not exists (
                    select 1 from (select * from {{ litmos_source(spec.stream) }}) as {{ old }}
                    where {{ old }}.{{ litmos_column('_sdc_extracted_at') }} <= {{ since }}
                        and {{ old }}.source_relation = {{ new }}.source_relation
                    {%- for column in spec['keys'] + spec['columns'] %}
                        and {{ old }}.{{ litmos_column(column) }} is not distinct from {{ new }}.{{ litmos_column(column) }}
                    {%- endfor %}
                )
        )
        union all
        {%- endfor %}
    {%- endfor %}
        select cast(achievements.achieved_at as date)
        from {{ ref('stg_litmos__achievements') }} as achievements
        inner join (
            select source_relation, {{ litmos_string('UserId') }} as user_id, {{ litmos_string('Id') }} as course_id
            from (select * from {{ litmos_source('course_results') }}) as results_raw
            where {{ litmos_column('_sdc_extracted_at') }} > {{ since }}
        ) as new_results
            on achievements.source_relation = new_results.source_relation
            and achievements.user_id = new_results.user_id
            and achievements.course_or_learning_path_id = new_results.course_id
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
