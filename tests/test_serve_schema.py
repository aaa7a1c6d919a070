"""Property-based test of the JSON endpoints: schemathesis generates requests from the app's
OpenAPI schema (valid and invalid parameters, bodies, uploads) and no answer may be a 500.

Results of identical queries are cached by the app, and examples per operation are bounded, so
this takes well under a minute on two cores.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from chipfit.serve import create_app  # noqa: E402

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(max_upload_bytes=1 << 16))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error])
