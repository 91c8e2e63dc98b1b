"""The Litmos sandbox: one class to start, drive and stop (see README.md).

>>> with LitmosSandbox(achievements=50) as sb:  # doctest: +SKIP
...     sb.base_url  # 'http://127.0.0.1:<port>/v1.svc'
"""

from __future__ import annotations

from litmos_sandbox.admin import AdminApi
from litmos_sandbox.api import LitmosApi


class LitmosSandbox(AdminApi, LitmosApi):
    """A local emulator of the Litmos REST API: 23 list endpoints over real HTTP.

    ``LitmosSandbox(**options)`` takes the keywords of
    :class:`~litmos_sandbox.options.Options`; :meth:`configure` changes them at runtime.
    The Python control API (``truth``, ``add``, ``touch``, ``inject`` ...) lives in
    ``core.py``, the Litmos API in ``api.py``, the admin API in ``admin.py``.

    >>> with LitmosSandbox(achievements=50) as sb:  # doctest: +SKIP
    ...     sb.base_url  # 'http://127.0.0.1:<port>/v1.svc'
    """
