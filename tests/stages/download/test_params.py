"""Validation of the download stage's params."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from stages.download.params import DownloadParams

SHA = "a" * 64


def test_url_entry_defaults_its_filename_from_the_url():
    params = DownloadParams(name="ic15",
                            urls=[{"url": "https://h.example/x/ch4%20train.zip?dl=1", "sha256": SHA.upper()}])
    entry = params.urls[0]
    assert entry.filename == "ch4 train.zip" and entry.sha256 == SHA
    assert params.http_retries == 4 and params.timeout_s == 60 and params.extract is True


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of urls or path"),
    ({"path": "/data", "urls": [{"url": "https://h/a.zip", "sha256": SHA}]}, "exactly one of urls or path"),
    ({"urls": []}, "urls is empty"),
    ({"urls": [{"url": "https://h/a.zip"}]}, "give sha256 or md5"),
    ({"urls": [{"url": "https://h/a.zip", "md5": "xyz"}]}, "md5 must be 32 hex digits"),
    ({"urls": [{"url": "ftp://h/a.zip", "sha256": SHA}]}, "only http:// and https://"),
    ({"urls": [{"url": "https://h/", "sha256": SHA}]}, "set filename"),
    ({"urls": [{"url": "https://h/a.zip", "sha256": SHA, "filename": "../a.zip"}]}, "plain file name"),
    ({"urls": [{"url": "https://h/a/x.zip", "sha256": SHA}, {"url": "https://h/b/x.zip", "sha256": SHA}]},
     "same filename"),
    ({"urls": [{"url": "https://h/a.zip", "sha256": SHA}], "sha256": SHA}, "apply to path only"),
    ({"path": "/data", "retries": 3}, "Extra inputs are not permitted"),
    ({"path": "/data", "mirror": "mirror.example"}, "base URL"),
])
def test_invalid_params_are_rejected_with_a_clear_reason(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DownloadParams(name="x", **kwargs)


def test_a_config_entry_keeps_engine_retries_apart_from_http_retries():
    from pipeline.config import validate_config
    from stages.download.stage import STAGE

    raw = {"name": "t", "stages": {"ic15": {
        "type": "download", "name": "icdar2015", "retries": 1, "http_retries": 7, "path": "~/data/ic15",
        "instructions": "Register at https://rrc.cvc.uab.es/?ch=4",
    }}}
    spec = validate_config(raw, "inline", {"download": STAGE}).stages["ic15"]
    assert spec.retries == 1 and spec.params.http_retries == 7 and spec.params.path == "~/data/ic15"
