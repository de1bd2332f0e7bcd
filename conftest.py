"""Loaded by pytest before any test is collected.

With ``--import-mode=importlib`` pytest names ``gateway/tests/...`` modules ``gateway.tests…``
and would register the folder ``gateway/`` as a namespace module ``gateway``, hiding the real
package in ``gateway/src/gateway``. Importing the real package first keeps it in place.
"""

import gateway  # noqa: F401
