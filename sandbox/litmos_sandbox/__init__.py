"""A faithful local emulator of the SAP Litmos REST API (``/v1.svc/achievements``).

Start one in-process::

    from litmos_sandbox import LitmosSandbox

    with LitmosSandbox(seed=42, users=20, achievements=500) as sandbox:
        ...  # sandbox.base_url, sandbox.api_key, sandbox.truth(), sandbox.requests

or from a shell: ``python -m litmos_sandbox --port 8765``. Behaviour follows
``docs/litmos-api.md`` (auth §2, formats §3, paging §4, since/userid §5.2 and §6.4, rate
limits §7, errors §8, and the project's reading of Litmos dates).
"""

from litmos_sandbox.data import Achievement, Dataset
from litmos_sandbox.server import LitmosSandbox

__all__ = ["Achievement", "Dataset", "LitmosSandbox"]
