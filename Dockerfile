# source-litmos: tap-litmos as an Airbyte source, for the Airbyte platform (docs/airbyte.md).
#
#   docker build -t your-org/source-litmos:0.1.0 .
#   docker run --rm your-org/source-litmos:0.1.0 spec
#
# The image itself is untested: no container runtime is available where tap-litmos is
# built and tested. What it runs is tested: `pip install .` into a clean virtualenv with
# the pinned versions, then `source-litmos spec` (tests/tap_litmos/airbyte/test_airbyte_packaging.py).
FROM python:3.11-slim

WORKDIR /airbyte/integration_code
COPY pyproject.toml requirements.lock README.md ./
COPY tap_litmos ./tap_litmos
RUN pip install --no-cache-dir --disable-pip-version-check -c requirements.lock . \
    && source-litmos spec > /dev/null

# As Airbyte's own Python connector images: the platform runs the entrypoint with
# spec, check, discover or read and their file arguments.
ENV AIRBYTE_ENTRYPOINT="source-litmos"
ENTRYPOINT ["source-litmos"]

LABEL io.airbyte.name="your-org/source-litmos"
LABEL io.airbyte.version="0.1.0"
