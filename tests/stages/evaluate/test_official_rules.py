"""The official scripts' parsing rules: ICDAR 2015 (RRC) quads with comma-bearing transcriptions,
Total-Text's y,x txt predictions, and untrusted or damaged prediction files."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models.metrics import sigma_tau
from stages.dataset.records import ParseError
from stages.evaluate.cli import main_eval_det
from stages.evaluate.formats import load_gt, load_predictions

FX = Path(__file__).resolve().parents[2] / "fixtures"
TT = FX / "totaltext_eval"

# Two cared words whose transcriptions hold a comma and digits, and one don't care.
GT_LINES = ("0,0,10,0,10,10,0,10,1,000\n"
            "20,0,40,0,40,10,20,10,2,015\n"
            "50,0,60,0,60,10,50,10,###\n")


def _folder(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir()
    for fname, text in files.items():
        (folder / fname).write_text(text)
    return folder


def test_comma_digit_gt_line_is_a_quad_with_its_transcription(tmp_path):
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": GT_LINES})
    gts = load_gt(gt, coords="quad")
    first = gts["img_1"][0]
    assert first.points.tolist() == [[0, 0], [10, 0], [10, 10], [0, 10]]
    assert first.text == "1,000" and not first.ignore
    assert gts["img_1"][1].text == "2,015" and gts["img_1"][2].ignore


def test_e2e_submission_with_comma_digit_words_scores_as_the_official_script(tmp_path, capsys):
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": GT_LINES})
    res = _folder(tmp_path, "res", {"res_img_1.txt": (
        "0,0,10,0,10,10,0,10,1,001\n"          # on '1,000', wrong word
        "20,0,40,0,40,10,20,10,2,015\n"        # on '2,015', right word
        "50,0,60,0,60,10,50,10,junk\n"         # inside the don't care: ignored
        "100,100,110,100,110,110,100,110,9,9\n")})  # nowhere: a false positive
    details = tmp_path / "d.json"
    assert main_eval_det(["--gt", str(gt), "--pred", str(res), "--protocol", "e2e", "--details", str(details)]) == 0
    out = json.loads(capsys.readouterr().out)
    # RRC E2E_iou_1_1 by hand: 2 cared gts, 3 cared detections (one on '###'), 1 correct transcription
    assert (out["recall_num"], out["recall_den"], out["precision_den"]) == (1, 2, 3)
    assert out["recall"] == 0.5 and out["precision"] == pytest.approx(1 / 3)
    assert out["hmean"] == pytest.approx(0.4)
    img = json.loads(details.read_text())["per_image"]["img_1"]
    assert img["pairs"] == [[0, 0], [1, 1]] and img["det_dont_care"] == [2]


def test_detection_submission_takes_an_optional_confidence_and_no_transcription(tmp_path, capsys):
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": GT_LINES})
    res = _folder(tmp_path, "res", {"res_img_1.txt": "0,0,10,0,10,10,0,10,0.9\n20,0,40,0,40,10,20,10,0.4\n"})
    assert main_eval_det(["--gt", str(gt), "--pred", str(res)]) == 0
    assert json.loads(capsys.readouterr().out)["hmean"] == 1.0
    (res / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10,1,000\n")
    assert main_eval_det(["--gt", str(gt), "--pred", str(res)]) == 2
    assert "res_img_1.txt:1: " in capsys.readouterr().err
    (res / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10,0.9\n20,0,40,0,40,10,20,10\n")
    assert main_eval_det(["--gt", str(gt), "--pred", str(res)]) == 2
    assert "res_img_1.txt:2: " in capsys.readouterr().err


def _yx_folder(root: Path) -> Path:
    """The official example predictions (.mat, x,y contours) written as Deteval.py's y1,x1,... txt lines."""
    from scipy.io import loadmat

    out = root / "yx"
    out.mkdir()
    for mat in sorted((TT / "Prediction").glob("*.mat")):
        contours = [np.asarray(c, np.float64) for c in loadmat(str(mat))["accuInf"].ravel()]
        lines = [",".join(f"{v:g}" for v in c[:, ::-1].ravel()) for c in contours]
        (out / f"{mat.stem}.txt").write_text("\n".join(lines) + "\n")
    return out


def test_totaltext_yx_txt_predictions_give_the_official_numbers(tmp_path, capsys):
    yx = _yx_folder(tmp_path)
    gt = str(TT / "Groundtruth")
    assert main_eval_det(["--gt", gt, "--pred", str(yx), "--protocol", "pascal", "--pred-order", "yx"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["precision"], out["recall"]) == (0.25, 0.125)  # as the .mat predictions score
    assert main_eval_det(["--gt", gt, "--pred", str(yx), "--protocol", "deteval", "--pred-order", "yx"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["num_gt_care"], out["num_det_care"], out["precision"], out["recall"]) == (24, 12, 0.0, 0.0)
    # and every sigma / tau the MATLAB protocol wrote in Result.txt
    gts = load_gt(TT / "Groundtruth")
    preds = load_predictions(yx, gt_ids=gts, order="yx")
    rows = [line.split() for line in (TT / "Result.txt").read_text().splitlines() if line.strip()]
    got = []
    for i in range(1, 6):
        sigma, tau = sigma_tau([g.points for g in gts[f"img{i}"]], [d.points for d in preds[f"img{i}"]])
        got += [(tau[g, d], sigma[g, d]) for g, d in zip(*np.nonzero(sigma))]
    assert len(got) == len(rows) == 30
    for (tau, sigma), (_, e_tau, e_sigma) in zip(got, rows):
        assert (tau, sigma) == (pytest.approx(float(e_tau), abs=1e-6), pytest.approx(float(e_sigma), abs=1e-6))


def test_totaltext_txt_predictions_without_an_order_warn_and_read_xy(tmp_path, capsys):
    yx = _yx_folder(tmp_path)
    assert main_eval_det(["--gt", str(TT / "Groundtruth"), "--pred", str(yx), "--protocol", "pascal"]) == 0
    captured = capsys.readouterr()
    assert "--pred-order yx" in captured.err and "reading x,y" in captured.err
    out = json.loads(captured.out)
    assert (out["precision"], out["recall"]) == (0.0, 0.0)  # transposed contours hit nothing
    assert main_eval_det(["--gt", str(TT / "Groundtruth"), "--pred", str(yx), "--protocol", "pascal",
                          "--pred-order", "xy"]) == 0
    assert capsys.readouterr().err == ""  # an explicit order is not second-guessed


@pytest.mark.parametrize("member", ["../res_img_1.txt", "/tmp/res_img_1.txt", "sub/../../res_img_1.txt",
                                    "C:/res_img_1.txt", "..\\res_img_1.txt"])
def test_unsafe_zip_member_names_are_refused(tmp_path, member):
    zpath = tmp_path / "res.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(member, "0,0,10,0,10,10,0,10\n")
    with pytest.raises(ParseError, match="unsafe member name") as err:
        load_predictions(zpath, gt_ids={"img_1": []})
    assert member in str(err.value)


def test_folder_member_resolving_outside_is_refused(tmp_path, capsys):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("0,0,10,0,10,10,0,10\n")
    res = tmp_path / "res"
    res.mkdir()
    os.symlink(outside, res / "res_img_1.txt")
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": GT_LINES})
    assert main_eval_det(["--gt", str(gt), "--pred", str(res)]) == 2
    err = capsys.readouterr().err
    assert "res_img_1.txt" in err and "outside" in err


def test_damaged_zips_give_named_errors(tmp_path, capsys):
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": GT_LINES})
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as z:
        z.writestr("res_img_1.txt", "0,0,10,0,10,10,0,10\n")
    data = good.read_bytes()
    crc_bad = tmp_path / "crc.zip"
    crc_bad.write_bytes(data.replace(b"0,0,10,0", b"0,0,19,0", 1))  # same length, wrong CRC
    assert main_eval_det(["--gt", str(gt), "--pred", str(crc_bad)]) == 2
    err = capsys.readouterr().err
    assert f"{crc_bad}:res_img_1.txt: " in err and "CRC" in err
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(data[: len(data) // 2])
    assert main_eval_det(["--gt", str(gt), "--pred", str(truncated)]) == 2
    assert f"{truncated}: not a zip file" in capsys.readouterr().err
    for damaged in (crc_bad, truncated):  # the same for ground truth
        assert main_eval_det(["--gt", str(damaged), "--pred", str(good)]) == 2
        assert str(damaged) in capsys.readouterr().err


def _polygt_row(xs, ys, text="W", orient="c"):
    return [np.array(["x:"], dtype=object), np.array([xs], np.float64), np.array(["y:"], dtype=object),
            np.array([ys], np.float64), np.array([text], dtype=object), np.array([orient], dtype=object)]


def test_totaltext_mat_with_nan_or_two_points_is_a_named_error(tmp_path):
    from scipy.io import savemat

    gt = tmp_path / "gt"
    gt.mkdir()
    cells = np.empty((2, 6), dtype=object)
    cells[0, :] = _polygt_row([0, 10, 10, 0], [0, 0, 10, 10])
    cells[1, :] = _polygt_row([0, np.nan, 10], [0, 0, 10])
    savemat(str(gt / "poly_gt_img1.mat"), {"polygt": cells})
    with pytest.raises(ParseError, match=r"poly_gt_img1.mat:2: row 2: "):
        load_gt(gt)
    cells[1, :] = _polygt_row([0, 10], [0, 0])  # two points, cared
    savemat(str(gt / "poly_gt_img1.mat"), {"polygt": cells})
    with pytest.raises(ParseError, match=r"poly_gt_img1.mat:2: row 2: a polygon needs at least 3 points"):
        load_gt(gt)
    pred = tmp_path / "pred"
    pred.mkdir()
    contours = np.empty((1, 1), dtype=object)
    contours[0, 0] = np.array([[0, 0], [np.inf, 0], [10, 10]], np.float64)
    savemat(str(pred / "img1.mat"), {"accuInf": contours})
    with pytest.raises(ParseError, match=r"img1.mat:1: contour 1: .*finite"):
        load_predictions(pred)


@pytest.mark.parametrize("coords", ["quad", "polygon"])
@pytest.mark.parametrize("line", ["0,0,nan,0,10,10,0,10", "0,0,inf,0,10,10,0,10", "0,0,10,0", "0,0,10,0,1e999,1,2,3"])
def test_txt_nan_inf_and_short_lines_are_named_errors(tmp_path, coords, line):
    res = _folder(tmp_path, "res", {"res_img_1.txt": "0,0,10,0,10,10,0,10\n" + line + "\n"})
    with pytest.raises(ParseError, match=r"res_img_1.txt:2: "):
        load_predictions(res, gt_ids={"img_1": []}, coords=coords)
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": "0,0,10,0,10,10,0,10,a\n" + line + "\n"})
    with pytest.raises(ParseError, match=r"gt_img_1.txt:2: "):
        load_gt(gt, coords=coords)


def test_empty_files_are_images_without_text_and_an_empty_gt_zip_is_an_error(tmp_path):
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": "", "gt_img_2.txt": "0,0,10,0,10,10,0,10,a\n"})
    res = _folder(tmp_path, "res", {"res_img_2.txt": ""})
    assert load_gt(gt, coords="quad")["img_1"] == []
    assert load_predictions(res, gt_ids={"img_1", "img_2"}, coords="quad") == {"img_2": []}
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(ParseError, match=r"empty.zip: holds no ground-truth .txt files"):
        load_gt(empty)
    assert load_predictions(empty, gt_ids={"img_1"}) == {}  # a submission with no detections at all
    (tmp_path / "gt" / "gt_img_1.txt").write_bytes(b"0,0,10,0,10,10,0,10,\xff\n")
    with pytest.raises(ParseError, match=r"gt_img_1.txt: not UTF-8"):
        load_gt(gt)


def test_predictions_json_with_a_bad_score_is_a_named_error(tmp_path):
    p = tmp_path / "pred.json"
    for score in ("high", None, float("nan"), 2.0):
        p.write_text(json.dumps({"images": [{"file_name": "img_1.jpg", "polygons": [[0, 0, 5, 0, 5, 5]],
                                              "scores": [score]}]}))
        with pytest.raises(ParseError, match=r"pred.json: images\[0\]: scores\[0\] must be a number in \[0, 1\]"):
            load_predictions(p)


def test_quad_detections_with_confidences_are_matched_by_descending_confidence(tmp_path, capsys):
    # det 0 (0.3) overlaps both gts with IoU .74; det 1 (0.9) only gt 0 (IoU .7, .31 with gt 1). The RRC
    # script sorts by confidence: gt 0 takes det 1, gt 1 det 0: two matches. File order would give one.
    gt = _folder(tmp_path, "gt", {"gt_img_1.txt": "0,0,100,0,100,10,0,10,A\n30,0,130,0,130,10,30,10,B\n"})
    res = _folder(tmp_path, "res", {"res_img_1.txt": "15,0,115,0,115,10,15,10,0.3\n0,0,70,0,70,10,0,10,0.9\n"})
    assert main_eval_det(["--gt", str(gt), "--pred", str(res)]) == 0
    assert json.loads(capsys.readouterr().out)["hmean"] == 1.0
    assert main_eval_det(["--gt", str(gt), "--pred", str(res), "--coords", "polygon"]) == 0
    assert json.loads(capsys.readouterr().out)["hmean"] == 0.5
