"""The manifest-only connector folder holds what an Airbyte registry contribution needs.

`airbyte/manifest-only/`: `manifest.yaml` (generated; tests/test_repository.py runs the
`--check`), `metadata.yaml` with the fields Airbyte's metadata schema requires
(ConnectorMetadataDefinitionV0: name, definitionId, connectorType, dockerRepository,
dockerImageTag, license, documentationUrl, githubIssueLabel, connectorSubtype,
releaseStage) and those of a manifest-only connector (the `language:manifest-only` tag, the
source-declarative-manifest base image), `icon.svg`, and the documentation page with its
changelog.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from scripts import airbyte_manifest
from tap_litmos import settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "airbyte" / "manifest-only"
REQUIRED = {
    "name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license",
    "documentationUrl", "githubIssueLabel", "connectorSubtype", "releaseStage",
}  # fmt: skip


def metadata() -> dict:
    return yaml.safe_load((FOLDER / "metadata.yaml").read_text())


def manifest() -> dict:
    return yaml.safe_load((FOLDER / "manifest.yaml").read_text())


def test_metadata_has_every_field_the_registry_requires() -> None:
    meta = metadata()
    assert meta["metadataSpecVersion"] == "1.0"
    data = meta["data"]
    assert set(data) >= REQUIRED
    assert uuid.UUID(data["definitionId"]).version == 4
    assert data["connectorType"] == "source"
    assert data["connectorSubtype"] == "api"
    assert data["dockerRepository"] == "airbyte/source-litmos"
    assert data["githubIssueLabel"] == "source-litmos"
    assert data["releaseStage"] in {"alpha", "beta", "generally_available", "custom"}
    assert data["icon"] == "icon.svg"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert data["dockerImageTag"] == project["version"]
    assert data["license"] == project["license"]


def test_it_is_a_manifest_only_connector_on_the_cdk_it_is_tested_with() -> None:
    data = metadata()["data"]
    assert "language:manifest-only" in data["tags"]
    base = data["connectorBuildOptions"]["baseImage"]
    assert base == f"docker.io/airbyte/source-declarative-manifest:{airbyte_manifest.CDK_VERSION}"
    assert data["remoteRegistries"]["pypi"]["enabled"] is False
    assert manifest()["version"] == airbyte_manifest.CDK_VERSION


def test_allowed_hosts_are_the_three_regional_hosts_the_manifest_calls() -> None:
    hosts = metadata()["data"]["allowedHosts"]["hosts"]
    regional = [urlsplit(url).hostname for url in settings.REGION_URLS.values()]
    assert sorted(hosts) == sorted(regional)
    url_base = manifest()["streams"][0]["retriever"]["requester"]["url_base"]
    for url in settings.REGION_URLS.values():
        assert url in url_base


def test_the_manifest_uses_no_custom_component_and_asks_for_json_only() -> None:
    text = (FOLDER / "manifest.yaml").read_text()
    assert not re.search(r"type: Custom", text)
    assert "class_name" not in text
    for stream in manifest()["streams"]:
        requester = stream["retriever"]["requester"]
        assert requester["request_parameters"]["format"] == "json"
        assert requester["request_headers"]["Accept"] == "application/json"


def test_the_safeguards_are_in_the_manifest() -> None:
    doc = manifest()
    (policy,) = doc["api_budget"]["policies"]
    (rate,) = policy["rates"]
    assert rate["interval"] == "PT1M"
    assert "90" in rate["limit"]
    assert policy["matchers"] == []
    handler = doc["definitions"]["error_handler"]
    retried = handler["response_filters"][0]
    assert {429, 503} <= set(retried["http_codes"])
    assert retried["action"] == "RETRY"
    assert handler["backoff_strategies"][0] == {
        "type": "WaitTimeFromHeader",
        "header": "Retry-After",
    }
    assert handler["backoff_strategies"][1]["backoff_time_in_seconds"] == 60
    for stream in doc["streams"]:
        cursor = stream.get("incremental_sync")
        if cursor:
            assert cursor["is_client_side_incremental"] is True


def test_the_icon_is_an_svg() -> None:
    root = ET.fromstring((FOLDER / "icon.svg").read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_the_documentation_page_names_every_stream_and_has_a_changelog_entry() -> None:
    page = (FOLDER / "litmos.md").read_text()
    assert page.startswith("# Litmos\n")
    for heading in ("## Prerequisites", "## Setup guide", "## Supported sync modes",
                    "## Supported streams", "## Changelog"):  # fmt: skip
        assert heading in page
    for stream in airbyte_manifest.manifest_streams():
        assert f"| `{stream.name}` |" in page
    for stream in airbyte_manifest.LEFT_OUT:
        assert f"`{stream}`" in page
    version = metadata()["data"]["dockerImageTag"]
    assert re.search(rf"^\| {re.escape(version)} \| \d{{4}}-\d{{2}}-\d{{2}} \|", page, re.MULTILINE)
