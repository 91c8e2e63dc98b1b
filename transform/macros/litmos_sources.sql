{#- The raw tables of one or several Litmos accounts.

    Each account is loaded into its own schema (docs/accounts.md). The `litmos_schemas`
    variable lists them, each a schema name or {schema: ..., label: ...}; unset, the one
    schema `litmos_schema` is read, as before accounts were a thing. Every staging model
    reads its stream through `litmos_source`, which unions the stream's table over those
    schemas and says which account each row came from in `source_relation` (the label,
    else the schema's name). Keys are unique only within an account, so everything
    downstream keys, joins and groups on `source_relation` too. -#}

{#- The configured accounts: a list of {schema, label}, in the order given. -#}
{% macro litmos_accounts() -%}
    {%- set configured = var('litmos_schemas', none) -%}
    {%- if configured is none or configured == '' or configured == [] -%}
        {%- set configured = [var('litmos_schema')] -%}
    {%- elif configured is string -%}
        {%- set configured = [configured] -%}
    {%- endif -%}
    {%- set accounts = [] -%}
    {%- for entry in configured -%}
        {%- if entry is mapping -%}
            {%- if not entry.get('schema') -%}
                {{ exceptions.raise_compiler_error('litmos_schemas: an entry without `schema`: ' ~ entry) }}
            {%- endif -%}
            {%- do accounts.append({'schema': entry['schema'], 'label': entry.get('label') or entry['schema']}) -%}
        {%- else -%}
            {%- do accounts.append({'schema': entry, 'label': entry}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set labels = accounts | map(attribute='label') | list -%}
    {%- if labels | unique | list | length != labels | length -%}
        {{ exceptions.raise_compiler_error('litmos_schemas: two accounts share a label: ' ~ labels) }}
    {%- endif -%}
    {{ return(accounts) }}
{%- endmacro %}

{#- The table `table` of one account's schema, whether it exists or not. -#}
{% macro litmos_account_relation(table, account) -%}
    {%- set declared = source('litmos', table) -%}
    {{ return(api.Relation.create(
        database=declared.database, schema=account['schema'], identifier=declared.identifier
    )) }}
{%- endmacro %}

{#- The table `table` of one account's schema if it was loaded, else none. -#}
{% macro litmos_loaded_relation(table, account) -%}
    {%- set wanted = litmos_account_relation(table, account) -%}
    {{ return(adapter.get_relation(
        database=wanted.database, schema=wanted.schema, identifier=wanted.identifier
    )) }}
{%- endmacro %}

{#- The labels of the accounts whose `table` is loaded (opt-in fan-outs may not be). -#}
{% macro litmos_loaded_accounts(table) -%}
    {%- if not execute -%}
        {{ return(litmos_accounts() | map(attribute='label') | list) }}
    {%- endif -%}
    {%- set labels = [] -%}
    {%- for account in litmos_accounts() -%}
        {%- if litmos_loaded_relation(table, account) is not none -%}
            {%- do labels.append(account['label']) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(labels) }}
{%- endmacro %}

{#- Whether any account's `table` is loaded. -#}
{% macro litmos_source_loaded(table) -%}
    {{ return(litmos_loaded_accounts(table) | length > 0) }}
{%- endmacro %}

{#- `count` (0 when null) for the rows of the accounts in `labels` (litmos_loaded_accounts),
    null for the others: a count of a stream an account has not loaded is unknown. -#}
{% macro litmos_count_if_loaded(count, source_relation, labels) -%}
    {%- if labels -%}
        case when {{ source_relation }} in (
            {%- for label in labels %}{{ litmos_label_literal(label) }}{% if not loop.last %}, {% endif %}{% endfor -%}
        ) then coalesce({{ count }}, 0) end
    {%- else -%}
        cast(null as {{ dbt.type_bigint() }})
    {%- endif -%}
{%- endmacro %}

{#- An account's label as a SQL string literal. -#}
{% macro litmos_label_literal(label) -%}
    cast('{{ label | replace("'", "''") }}' as {{ dbt.type_string() }})
{%- endmacro %}

{#- The stream `table` over every account, `source_relation` first, then its columns
    aligned by name (matched case-insensitively: the loaders differ in case, not in
    spelling); a column one account's table lacks is a null of the type the others
    have. An account that has not loaded the table adds no rows when `columns` are
    given (raw column name -> string, int, bool, timestamp: the opt-in fan-outs), and
    when none of them has it the result is an empty relation of those columns. Without
    `columns` an absent table is an error: the warehouse's own when no account has it
    (as a model reading a table not loaded yet always failed), a clear one naming the
    accounts that lack it when others have it. -#}
{% macro litmos_source(table, columns=none) -%}
    {%- set accounts = litmos_accounts() -%}
    {%- do source('litmos', table) -%}  {#- the dependency, for dbt's lineage -#}
    {%- if not execute -%}
        {{ return(source('litmos', table)) }}
    {%- endif -%}

    {#- Each account's relation (none: not loaded, skipped) and the union of columns. -#}
    {%- set parts = [] -%}
    {%- set names = [] -%}
    {%- set spelled = {} -%}
    {%- set typed = {} -%}
    {%- for account in accounts -%}
        {%- set relation = litmos_loaded_relation(table, account) -%}
        {%- if relation is none and columns is none -%}
            {%- set relation = litmos_account_relation(table, account) -%}
            {%- do parts.append({'label': account['label'], 'relation': relation, 'columns': none}) -%}
        {%- elif relation is not none -%}
            {%- set own = {} -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- set key = column.name | lower -%}
                {%- do own.update({key: column.name}) -%}
                {%- if key not in spelled -%}
                    {%- do names.append(key) -%}
                    {%- do spelled.update({key: column.name}) -%}
                    {%- do typed.update({key: column.data_type}) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do parts.append({'label': account['label'], 'relation': relation, 'columns': own}) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- The columns the model names, even if no loaded account's table has one. -#}
    {%- for name, kind in (columns or {}).items() -%}
        {%- if name | lower not in spelled -%}
            {%- do names.append(name | lower) -%}
            {%- do spelled.update({name | lower: name}) -%}
            {%- do typed.update({name | lower: litmos_type(kind)}) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set missing = parts | selectattr('columns', 'none') | map(attribute='label') | list -%}
    {%- if missing and missing | length < parts | length -%}
        {{ exceptions.raise_compiler_error(
            'litmos_source: ' ~ table ~ ' is not loaded for ' ~ missing | join(', ')
            ~ ' (litmos_schemas): load that account first, or leave it out of litmos_schemas'
        ) }}
    {%- endif -%}

    {%- if parts | length == 0 -%}
        (
            select
                {{ litmos_label_literal(accounts[0]['label']) }} as source_relation,
            {%- for name, kind in columns.items() %}
                cast(null as {{ litmos_type(kind) }}) as {{ litmos_column(name) }},
            {%- endfor %}
                cast(null as timestamp) as {{ litmos_column('_sdc_extracted_at') }}
            where 1 = 0
        ) as {{ table }}_not_loaded
    {%- elif parts | length == 1 and parts[0]['columns'] is none -%}
        (
            select {{ litmos_label_literal(parts[0]['label']) }} as source_relation, *
            from {{ parts[0]['relation'] }}
        ) as {{ table }}_accounts
    {%- else -%}
        (
        {%- for part in parts %}
            select
                {{ litmos_label_literal(part['label']) }} as source_relation
            {%- if part['columns'] is none %},
                *
            {%- else %}
            {%- for key in names %},
                {% if key in part['columns'] -%}
                    {{ litmos_column(part['columns'][key]) }}
                {%- else -%}
                    cast(null as {{ typed[key] }})
                {%- endif %} as {{ litmos_column(spelled[key]) }}
            {%- endfor %}
            {%- endif %}
            from {{ part['relation'] }}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        ) as {{ table }}_accounts
    {%- endif -%}
{%- endmacro %}

{% macro litmos_type(kind) -%}
    {%- if kind == 'string' -%}{{ dbt.type_string() }}
    {%- elif kind == 'int' -%}{{ dbt.type_bigint() }}
    {%- elif kind == 'bool' -%}boolean
    {%- elif kind == 'timestamp' -%}timestamp
    {%- else -%}{{ exceptions.raise_compiler_error('unknown column kind ' ~ kind) }}
    {%- endif -%}
{%- endmacro %}
