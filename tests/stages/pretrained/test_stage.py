"""The pretrained stage: keys follow the weights' content, sources are checked, and in the engine the
import is recorded, logged and registered like a trained model."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.checkpoint import load_checkpoint
from pipeline.config import validate_config
from pipeline.dag import build_graph
from pipeline.digests import DigestCache
from pipeline.references import ReferenceResolver
from pipeline.stage import LocalContext
from stages.dataset.errors import DownloadError
from stages.pretrained.params import PretrainedParams
from stages.pretrained.stage import run
from stages.registry import STAGES
from tests.pipeline.engine_helpers import Project
from tests.stages.download.fileserver import serving

easyocr_en_models = pytest.importorskip("easyocr_en_models", reason="the project's 'pretrained' extra")
G2 = Path(easyocr_en_models.model_dir()) / "english_g2.pth"
PACKAGE = {"package": {"module": "easyocr_en_models", "file": "models/english_g2.pth"}}


def key_of(tmp_path: Path, source: dict) -> str:
    config = validate_config({"name": "k", "stages": {"g2": {"type": "pretrained", "source": source,
                                                              "importer": "easyocr_english_g2"}}}, "test", STAGES)
    resolver = ReferenceResolver(None, DigestCache(tmp_path / "digests.sqlite"))
    return build_graph(config, STAGES, resolver=resolver).nodes["g2"].key


def test_the_key_follows_the_file_content_not_its_path(tmp_path):
    first = tmp_path / "a" / "g2.pth"
    first.parent.mkdir()
    shutil.copy(G2, first)
    key = key_of(tmp_path, {"path": str(first)})
    moved = tmp_path / "b" / "weights.pth"
    moved.parent.mkdir()
    shutil.copy(G2, moved)
    assert key_of(tmp_path, {"path": moved.as_uri()}) == key  # same bytes elsewhere, as a file:// URI
    # a package resource is keyed by its bytes alone too (not by where the package is installed)
    resolved = ReferenceResolver(None, DigestCache(tmp_path / "d.sqlite")).resolve("package", PACKAGE["package"])
    assert resolved == {"sha256": hashlib.sha256(G2.read_bytes()).hexdigest()}
    with open(first, "r+b") as fh:  # one byte changed in place
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 1]))
    assert key_of(tmp_path, {"path": str(first)}) != key


def test_sources_are_validated_with_clear_errors():
    with pytest.raises(ValidationError, match="give exactly one of path, package or url"):
        PretrainedParams.model_validate({"source": {"path": "a.pth", **PACKAGE}, "importer": "easyocr_english_g2"})
    with pytest.raises(ValidationError, match="sha256 is required"):
        PretrainedParams.model_validate({"source": {"url": "http://127.0.0.1/g2.pth"},
                                         "importer": "easyocr_english_g2"})
    with pytest.raises(ValidationError, match=r"package 'no_such_weights' is not installed; pip install"):
        PretrainedParams.model_validate({"source": {"package": {"module": "no_such_weights", "file": "w.pth"}},
                                         "importer": "easyocr_english_g2"})
    with pytest.raises(ValidationError, match="unknown importer 'g3'; valid: craft_mlt_25k, easyocr_english_g2"):
        PretrainedParams.model_validate({"source": PACKAGE, "importer": "g3"})


def test_a_url_with_a_wrong_sha256_fails_naming_the_url_and_both_digests(tmp_path):
    data = G2.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    wrong = "0" * 64
    with serving() as server:
        url = server.serve("/weights/english_g2.pth", data)
        params = PretrainedParams.model_validate({"source": {"url": url, "sha256": wrong},
                                                  "importer": "easyocr_english_g2", "http_retries": 0})
        with pytest.raises(DownloadError) as err:
            run(params, {}, tmp_path / "out", LocalContext("g2"))
    assert str(err.value).startswith(f"{url}: sha256 mismatch: expected {wrong}, actual {actual}")
    assert not (tmp_path / "out" / "model").exists()


def test_a_url_with_the_right_sha256_is_fetched_and_imported(tmp_path):
    data = G2.read_bytes()
    with serving() as server:
        url = server.serve("/weights/english_g2.pth", data)
        params = PretrainedParams.model_validate({"source": {"url": url, "sha256": hashlib.sha256(data).hexdigest()},
                                                  "importer": "easyocr_english_g2"})
        result = run(params, {}, tmp_path, LocalContext("g2"))
    ckpt = load_checkpoint(tmp_path / "model")
    assert ckpt["model_config"]["charset"] == {"kind": "easyocr_en", "path": None}
    assert result.extra["pretrained"]["source"] == url
    assert result.extra["pretrained"]["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_engine_imports_the_package_weights_and_registers_them(tmp_path, ray_local):
    stages = {"g2": {"type": "pretrained", "source": PACKAGE, "importer": "easyocr_english_g2"},
              "register": {"type": "register", "inputs": {"model": "g2.model"}, "name": "scenetext-rec"}}
    project = Project(tmp_path, stages)
    report = project.run()
    assert report.count("done") == 2
    sha = hashlib.sha256(G2.read_bytes()).hexdigest()
    manifest = project.manifest(report, "g2")
    record = manifest["extra"]["pretrained"]
    assert (record["source"], record["sha256"], record["importer"]) == (
        "package:easyocr_en_models/models/english_g2.pth", sha, "easyocr_english_g2")
    assert record["package_version"] == "1.0.0"
    checkpoint = project.complete_dirs("g2")[0] / "model" / "checkpoint.pt"
    assert load_checkpoint(checkpoint)["model_config"]["arch"] == "crnn"

    run_params = project.child_runs(report.parent_run_id)["g2"].data.params
    assert (run_params["pretrained.sha256"], run_params["pretrained.importer"]) == (sha, "easyocr_english_g2")
    assert run_params["pretrained.package_version"] == "1.0.0"
    registered = project.manifest(report, "register")["extra"]
    assert (registered["name"], registered["version"]) == ("scenetext-rec", "1")
    assert registered["model_id"] == manifest["extra"]["mlflow_models"]["model"]  # the import's logged model

    again = project.run()
    assert again.count("hit") == 2  # both cache hits: nothing imported or registered again
