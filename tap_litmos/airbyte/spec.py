"""The connection specification (`spec`) and the config `source-litmos` accepts.

The specification is generated from the tap's settings schema (`settings.CONFIG_SCHEMA`):
the same names, types, defaults, enums, bounds and descriptions, in the same order.
Airbyte spells a few things its own way: one type per setting (optional settings are
simply not `required`), `airbyte_secret` for values its UI must mask and its logs
must not show, and `order` for the form. The Singer SDK's own settings (stream maps,
flattening, BATCH, faker) are left out: they are Singer pipeline features with no
Airbyte counterpart, and a config that carries one is refused.

One setting is Airbyte's alone: `fan_out_streams`. A Singer catalog marks the
per-parent streams "not selected by default"; Airbyte has no such flag, and PyAirbyte's
`select_all_streams()` selects whatever discover offers. So discover offers those
streams only when this setting names them.
"""

from __future__ import annotations

import copy
import typing as t
from importlib.metadata import metadata

from singer_sdk.exceptions import ConfigValidationError

from tap_litmos import settings
from tap_litmos.patterns import FanOutStream
from tap_litmos.streams import STREAM_TYPES

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: pyproject.toml's Repository URL (the publisher's, a placeholder until published).
_REPOSITORY = dict(u.split(", ", 1) for u in metadata("tap-litmos").get_all("Project-URL") or ())
DOCUMENTATION_URL = f"{_REPOSITORY['Repository']}/blob/main/docs/airbyte.md"

#: The per-parent streams (a request per user or per session), in catalog order.
FAN_OUT_STREAMS = [cls.name for cls in STREAM_TYPES if issubclass(cls, FanOutStream)]
FAN_OUT_SETTING = "fan_out_streams"

#: Settings that can hold a secret although the tap's schema does not mark them so
#: (the tap redacts the password inside them from every output all the same).
_ALSO_SECRET = frozenset({"rate_limit_backend"})  # redis://:password@host

_AIRBYTE_ONLY: dict[str, dict[str, t.Any]] = {
    FAN_OUT_SETTING: {
        "type": "array",
        "items": {"type": "string", "enum": FAN_OUT_STREAMS},
        "uniqueItems": True,
        "default": [],
        "title": "Fan-out Streams",
        "description": (
            "Per-parent streams to offer in the catalog: `user_badges` costs one request"
            " per user, `course_custom_field_values` one per course, `ilt_rollcall` and"
            " `ilt_attendance` one per instructor-led session"
            " (10 000 requests on a 10 000-learner account, about 2 hours at 90 a minute)."
            " Not offered unless named here."
        ),
    },
}

_WHY_REFUSED = {
    "batch_config": "BATCH files have no Airbyte equivalent; records travel as RECORD messages",
}


def _sdk_only_settings() -> list[str]:
    """The Singer SDK's built-in settings that `TapLitmos` accepts beside its own."""
    from tap_litmos.tap import TapLitmos  # noqa: PLC0415 (tap.py imports the whole tap)

    schema = copy.deepcopy(TapLitmos.config_jsonschema)
    TapLitmos.append_builtin_config(schema)
    return sorted(set(schema["properties"]) - set(settings.CONFIG_SCHEMA["properties"]))


def connection_specification() -> dict[str, t.Any]:
    """The `connectionSpecification`: a JSON schema of the config, for Airbyte's forms."""
    properties: dict[str, dict[str, t.Any]] = {}
    for name, prop in settings.CONFIG_SCHEMA["properties"].items():
        properties[name] = _airbyte_property(name, prop)
    properties.update(copy.deepcopy(_AIRBYTE_ONLY))
    for order, prop in enumerate(properties.values()):
        prop["order"] = order
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Litmos Source Spec",
        "type": "object",
        "required": list(settings.CONFIG_SCHEMA.get("required", [])),
        "additionalProperties": True,
        "properties": properties,
    }


def _airbyte_property(name: str, prop: Mapping[str, t.Any]) -> dict[str, t.Any]:
    out = copy.deepcopy(dict(prop))
    types = out.get("type")
    if isinstance(types, list):
        # Optional is "not required" in Airbyte; its forms want one type per field.
        concrete = [kind for kind in types if kind != "null"]
        out["type"] = concrete[0] if len(concrete) == 1 else concrete
    items = out.get("items")
    if isinstance(items, dict) and isinstance(items.get("type"), list) and len(items["type"]) == 1:
        items["type"] = items["type"][0]
    if out.pop("secret", False) or name in _ALSO_SECRET:
        out["airbyte_secret"] = True
    return out


def specification() -> dict[str, t.Any]:
    """The body of the SPEC message."""
    return {
        "documentationUrl": DOCUMENTATION_URL,
        "connectionSpecification": connection_specification(),
        "supportsIncremental": True,
    }


def tap_config(config: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The config as `TapLitmos` takes it, or ConfigValidationError naming each problem.

    Airbyte-only settings are taken out; a Singer SDK setting is refused. The tap's own
    settings are validated by the tap itself, as `tap-litmos` does.
    """
    problems = [
        f"Setting '{name}': not available in source-litmos ("
        + _WHY_REFUSED.get(name, "a Singer SDK pipeline setting with no Airbyte equivalent")
        + ")"
        for name in _sdk_only_settings()
        if config.get(name)  # false, empty or null is the SDK's default: harmless
    ]
    problems += _fan_out_problems(config.get(FAN_OUT_SETTING))
    tap_settings = {k: v for k, v in config.items() if k not in _AIRBYTE_ONLY}
    if problems:
        # All at once, with the tap's own: one failed check names everything to fix.
        problems += settings.find_problems(tap_settings)
        summary = "Config validation failed"
        raise ConfigValidationError(summary, errors=problems)
    return tap_settings


def offered_fan_outs(config: Mapping[str, t.Any]) -> set[str]:
    """The per-parent streams this config asks discover to offer."""
    return set(config.get(FAN_OUT_SETTING) or ())


def _fan_out_problems(value: object) -> list[str]:
    if value is None:
        return []
    ok = isinstance(value, list) and all(name in FAN_OUT_STREAMS for name in value)
    if ok:
        return []
    names = ", ".join(FAN_OUT_STREAMS)
    return [
        f"Setting '{FAN_OUT_SETTING}': must be a list of stream names from {names}, got {value!r}"
    ]
