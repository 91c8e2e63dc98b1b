{#- Generic tests of our own (the project uses no dbt packages). -#}

{#- No two rows share the values of `columns` (a composite primary key). -#}
{% test litmos_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies `expression` (rows where it is false or null fail). -#}
{% test litmos_expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}

{#- dbt's `relationships` within one account: every non-null `column_name` has a row in
    `to` whose `field` equals it and whose `source_relation` is the row's own (an id of
    another account is no reference). -#}
{% test litmos_relationships(model, column_name, to, field) %}
select child.source_relation, child.{{ column_name }}
from {{ model }} as child
where child.{{ column_name }} is not null
    and not exists (
        select 1
        from {{ to }} as parent
        where parent.source_relation = child.source_relation
            and parent.{{ field }} = child.{{ column_name }}
    )
{% endtest %}
