"""Fixtures of the download tests: a real HTTP file server on 127.0.0.1 and a LocalContext."""
from __future__ import annotations

import pytest

from pipeline.stage import LocalContext
from tests.stages.download.fileserver import serving


@pytest.fixture
def server():
    """A plain-HTTP file server (see fileserver.py), torn down after the test."""
    with serving() as srv:
        yield srv


@pytest.fixture
def ctx():
    """A LocalContext whose logger is ``stage.download``."""
    return LocalContext(stage_name="download")
