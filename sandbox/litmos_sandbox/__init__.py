"""A faithful local emulator of the SAP Litmos REST API: 23 list endpoints under ``/v1.svc``.

Start one in-process::

    from litmos_sandbox import LitmosSandbox

    with LitmosSandbox(seed=42, users=20, achievements=500) as sandbox:
        ...  # sandbox.base_url, sandbox.api_key, sandbox.truth("users"), sandbox.requests

as a subprocess (``spawn()``, what the demo and the benchmarks use), or from a shell:
``litmos-sandbox --port 8765`` (``python -m litmos_sandbox``). Options: ``options.py``.
Behaviour follows ``docs/litmos-api.md`` (auth §2, formats §3, paging §4, date filters §5,
endpoints §6, rate limits §7, errors §8, and the project's reading of Litmos dates).
"""

from litmos_sandbox.data import Achievement, Dataset
from litmos_sandbox.options import Options
from litmos_sandbox.process import SpawnedSandbox, spawn
from litmos_sandbox.sandbox import LitmosSandbox

__all__ = ["Achievement", "Dataset", "LitmosSandbox", "Options", "SpawnedSandbox", "spawn"]
