"""eval-det / eval-rec end to end: one real subprocess, the rest in-process with captured output."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stages.evaluate.cli import main_eval_det, main_eval_rec

ROOT = Path(__file__).resolve().parents[3]
FX = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def self_res(tmp_path_factory) -> Path:
    """The official ground truth turned into a res_img_N.txt folder (coordinates only)."""
    out = tmp_path_factory.mktemp("res")
    with zipfile.ZipFile(FX / "icdar2015_gt" / "gt.zip") as z:
        for name in z.namelist():
            lines = z.read(name).decode("utf-8-sig").splitlines()
            (out / name.replace("gt_", "res_")).write_text(
                "\n".join(",".join(line.split(",")[:8]) for line in lines if line))
    return out


def test_eval_det_subprocess_against_itself(self_res):
    code = ("import sys; from stages.evaluate.cli import main_eval_det; "
            f"sys.exit(main_eval_det(['--gt', {str(FX / 'icdar2015_gt' / 'gt.zip')!r}, '--pred', {str(self_res)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["precision"], out["recall"], out["hmean"]) == (1.0, 1.0, 1.0)
    assert out["protocol"] == "icdar15" and out["num_gt_care"] == 2077 and out["num_images"] == 500


def test_eval_det_protocols_and_details(capsys, tmp_path):
    tt = FX / "totaltext_eval"
    details = tmp_path / "details.json"
    assert main_eval_det(["--gt", str(tt / "Groundtruth"), "--pred", str(tt / "Prediction"),
                          "--protocol", "pascal", "--details", str(details)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["protocol"], out["precision"], out["recall"]) == ("pascal", 0.25, 0.125)
    d = json.loads(details.read_text())
    assert d["hmean"] == out["hmean"] and set(d["per_image"]) == {f"img{i}" for i in range(1, 6)}
    assert d["per_image"]["img2"]["gt_dont_care"] == [7, 8]
    assert main_eval_det(["--gt", str(tt / "synthetic_gt_coco.json"), "--pred", str(tt / "synthetic_pred.json"),
                          "--protocol", "deteval"]) == 0
    expected = json.loads((tt / "synthetic_expected_official.json").read_text())["deteval"]
    assert json.loads(capsys.readouterr().out)["precision"] == pytest.approx(expected["precision"], abs=1e-6)


def test_eval_det_e2e_and_threshold(capsys):
    ic = FX / "icdar2015_gt"
    # the fixture holds float and 14-point polygons: the RRC quad rule refuses them, the polygon rule reads them
    assert main_eval_det(["--gt", str(ic / "gt.zip"), "--pred", str(ic / "perturbed_res.zip"),
                          "--score-threshold", "0.5", "--coords", "polygon"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["score_threshold"] == 0.5 and 0 < out["num_det_care"]
    assert main_eval_det(["--gt", str(ic / "gt.zip"), "--pred", str(ic / "perturbed_e2e.json"),
                          "--protocol", "e2e"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"] == "e2e_generic"


def test_eval_det_malformed_line_fails_with_file_and_line(capsys, tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "res_img_3.txt").write_text("10,10,20,10,20,20,10,20\n10,10,20,10,20,20,10\n")
    code = main_eval_det(["--gt", str(FX / "icdar2015_gt" / "gt.zip"), "--pred", str(res)])
    err = capsys.readouterr()
    assert code == 2 and err.out == ""
    assert "res_img_3.txt:2: expected 8 integer coordinates x1,y1,...,x4,y4 (ICDAR 2015 rule), got 7 fields" in err.err
    assert main_eval_det(["--gt", str(FX / "icdar2015_gt" / "gt.zip"), "--pred", str(res), "--coords", "polygon"]) == 2
    assert "res_img_3.txt:2: odd number of values (7)" in capsys.readouterr().err
    (res / "res_img_3.txt").write_text("10,10,20,10,20,20,10,20\n")
    (res / "res_img_999.txt").write_text("10,10,20,10,20,20,10,20\n")
    assert main_eval_det(["--gt", str(FX / "icdar2015_gt" / "gt.zip"), "--pred", str(res)]) == 2
    assert "res_img_999.txt: image id 'img_999' is not in the ground truth" in capsys.readouterr().err
    assert main_eval_det(["--gt", str(tmp_path / "nope"), "--pred", str(res)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main_eval_det(["--gt", "x", "--pred", "y", "--protocol", "bogus"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_eval_rec_labels_and_lmdb(capsys, tmp_path):
    import lmdb

    labels = (ROOT.parent / "shared" / "data" / "cocotext_rec_toy_mmocr" / "old_label.txt")
    gt = tmp_path / "labels.txt"
    gt.write_text(labels.read_text() if labels.exists() else "1223731.jpg GRAND\n1223733.jpg HOTEL\n")
    names = [line.split(" ", 1)[0] for line in gt.read_text().splitlines() if line.strip()]
    pred = tmp_path / "preds.txt"
    pred.write_text(f"{names[0]}\tgrand\n{names[1]}\tH0TEL\n")  # second one wrong, the rest missing
    assert main_eval_rec(["--gt", str(gt), "--pred", str(pred)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "ignore_case_symbol" and out["num_samples"] == len(names)
    assert out["num_correct"] == 1 and out["num_missing"] == len(names) - 2
    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"label-000000001", b"Hello")
        txn.put(b"label-000000002", b"World")
        txn.put(b"num-samples", b"2")
    env.close()
    pred.write_text("1 hello\n2 world\n")
    assert main_eval_rec(["--gt", str(tmp_path / "db"), "--pred", str(pred), "--mode", "exact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["word_acc"] == 0.0 and out["one_minus_ned"] == pytest.approx(0.8)
    pred.write_text("image-000000001 Hello\nimage-000000002 World\n")
    assert main_eval_rec(["--gt", str(tmp_path / "db"), "--pred", str(pred), "--mode", "exact"]) == 0
    assert json.loads(capsys.readouterr().out)["word_acc"] == 1.0
    pred.write_text("1 hello\n7 x\n")
    assert main_eval_rec(["--gt", str(tmp_path / "db"), "--pred", str(pred)]) == 2
    assert "preds.txt:2: unknown sample '7'" in capsys.readouterr().err
