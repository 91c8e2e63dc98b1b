"""Setting validation as a pure function (the command line refusing bad settings is tested in
test_tap.py)."""

from __future__ import annotations

import pytest

from tap_litmos.settings import CONFIG_SCHEMA, REGION_URLS, base_url, find_problems

pytestmark = pytest.mark.unit

GOOD = {"api_key": "k-123", "source": "acme", "start_date": "2024-01-01"}


def test_a_good_config_has_no_problems() -> None:
    assert find_problems(GOOD) == []
    assert find_problems({"api_key": "k", "start_date": "2024-01-31T08:00:00Z"}) == []


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5000}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"start_date": "not-a-date"}, "start_date"),
        ({"region": "xx"}, "region"),
        ({"response_format": "csv"}, "response_format"),
        ({"api_key": ""}, "api_key"),
        ({"api_url": "ftp://example.com/v1.svc"}, "api_url"),
        ({"api_url": "not a url"}, "api_url"),
        ({"source": "x" * 51}, "source"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"user_ids": "abc"}, "user_ids"),
        ({"max_requests_per_minute": -5}, "max_requests_per_minute"),
        ({"api_url": "http://api.litmos.com/v1.svc"}, "api_url"),
        ({"api_url": "http://10.0.0.5/v1.svc"}, "api_url"),
        ({"api_url": "https://user:pw@api.litmos.com/v1.svc"}, "api_url"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"request_timeout": "fast"}, "request_timeout"),
        ({"source": "   "}, "source"),
        ({"rate_limit_backend": "ftp://example.com/budget"}, "rate_limit_backend"),
    ],
)
def test_each_bad_setting_gives_one_problem_naming_it(override: dict, setting: str) -> None:
    problems = find_problems({**GOOD, **override})
    assert len(problems) == 1
    assert f"'{setting}'" in problems[0]


def test_missing_api_key() -> None:
    problems = find_problems({"source": "acme"})
    assert problems == [
        "Setting 'api_key': is required (the Litmos API key, sent as the apikey header)"
    ]


def test_all_problems_are_reported_at_once() -> None:
    problems = find_problems({"page_size": 0, "region": "xx", "start_date": "soon"})
    assert sorted(p.split("'")[1] for p in problems) == [
        "api_key",
        "page_size",
        "region",
        "start_date",
    ]


def test_the_api_key_is_never_echoed() -> None:
    secret = "SECRET-KEY-VALUE"
    for bad in ({"api_key": secret, "page_size": 0}, {"api_key": secret, "region": "zz"}):
        assert all(secret not in p for p in find_problems(bad))


def test_base_url_from_region_or_override() -> None:
    assert base_url({"region": "eu"}) == "https://api.litmoseu.com/v1.svc"
    assert base_url({}) == REGION_URLS["us"] == "https://api.litmos.com/v1.svc"
    assert base_url({"region": "au"}) == "https://api.litmos.com.au/v1.svc"
    assert base_url({"region": "au", "api_url": "http://127.0.0.1:9/v1.svc/"}) == (
        "http://127.0.0.1:9/v1.svc"
    )


def test_schema_marks_the_key_secret_and_required() -> None:
    assert CONFIG_SCHEMA["properties"]["api_key"]["secret"] is True
    assert "api_key" in CONFIG_SCHEMA["required"]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.litmos.com/v1.svc",
        "http://127.0.0.1:8765/v1.svc",
        "http://127.9.8.7/v1.svc",
        "http://localhost:8765/v1.svc",
        "http://[::1]:8765/v1.svc",
    ],
)
def test_https_or_a_loopback_host(url: str) -> None:
    assert find_problems({**GOOD, "api_url": url}) == []


def test_plain_http_elsewhere_says_why() -> None:
    (problem,) = find_problems({**GOOD, "api_url": "http://api.litmos.com/v1.svc"})
    assert "must use https" in problem
    assert "api.litmos.com" in problem


def test_ranges_come_from_the_schema() -> None:
    # Every bounded integer setting is checked against the bounds the schema declares.
    for name, prop in CONFIG_SCHEMA["properties"].items():
        if "integer" in prop.get("type", []) and "minimum" in prop:
            assert find_problems({**GOOD, name: prop["minimum"]}) == []
            (problem,) = find_problems({**GOOD, name: prop["minimum"] - 1})
            assert f"'{name}'" in problem
            if "maximum" in prop:
                (problem,) = find_problems({**GOOD, name: prop["maximum"] + 1})
                assert f"'{name}'" in problem


@pytest.mark.parametrize("name", ["api_url", "start_date", "rate_limit_backend"])
def test_an_empty_optional_setting_is_unset(name: str) -> None:
    assert find_problems({**GOOD, name: ""}) == []
