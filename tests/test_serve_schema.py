"""Property-based test of the JSON endpoints: schemathesis generates requests from the app's
OpenAPI schema (valid and invalid parameters, bodies, uploads) and no answer may be a 500.

Results of identical queries are cached by the app, and examples per operation are bounded, so
this takes well under a minute on two cores. ``/api/whatif`` is fuzzed on its own: its parameters
go through the real ``chipfit.whatif`` (levers, precisions, batches, input sizes, sparsity,
channel pruning), except the lighter-architecture lever, which traces a dozen torchvision models
per query whatever the parameters and is stubbed here (``test_whatif.py`` and ``test_serve.py``
run it for real).
"""

from __future__ import annotations

import sys

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

import chipfit.analysis.whatif  # noqa: E402,F401  (the module; chipfit.whatif the attribute is the function)
from chipfit.serve import create_app  # noqa: E402

WHATIF = "/api/whatif"
whatif_module = sys.modules["chipfit.analysis.whatif"]
app = create_app(max_upload_bytes=1 << 16, in_process=True)
app_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
PAGE = {"X-Chipfit-Token": app.state.token}     # as the page sends it
schema = app_schema.exclude(path=WHATIF)
whatif_schema = app_schema.include(path=WHATIF)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(headers=PAGE, checks=[not_a_server_error])


@pytest.fixture(scope="module")
def untraced_lighter_models():
    """The lighter-architecture lever without tracing its candidates (one unpriced row)."""
    def lighter(name, base_count, record, unit, fps, prec):
        return [whatif_module.Option("lighter model", "-", None, note="not traced in this test")]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(whatif_module, "_lighter", lighter)
        yield


@whatif_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_whatif_no_server_errors(case, untraced_lighter_models):
    case.call_and_validate(headers=PAGE, checks=[not_a_server_error])
