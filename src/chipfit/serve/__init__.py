"""``chipfit serve``: a local web page and JSON API over count, check, rank, llm, plan and whatif.

:func:`create_app` (in :mod:`.app`) builds the FastAPI app; :func:`.run.serve` checks the
address and runs it with uvicorn. fastapi, uvicorn and python-multipart come with the ``serve``
extra (``pip install 'chipfit[serve]'``); :func:`require` says so in one sentence when they are
missing.
"""

from __future__ import annotations

from chipfit.core.errors import MissingDependency

PACKAGES = (("fastapi", "fastapi"), ("uvicorn", "uvicorn"), ("python_multipart", "python-multipart"))


def require() -> None:
    """Raise :class:`MissingDependency` unless the web stack is installed."""
    import importlib.util

    for module, package in PACKAGES:
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(package, "serve", "chipfit serve")


def create_app(*args, **kwargs):
    """The FastAPI app (see :func:`chipfit.serve.app.create_app`)."""
    require()
    from chipfit.serve.app import create_app as create

    return create(*args, **kwargs)
