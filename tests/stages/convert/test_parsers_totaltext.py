"""Total-Text parser on the real .mat ground truth (polygt and the tool's gt variant) and the .txt encoding."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, totaltext
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "totaltext"


def _images(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / f"{stem}.jpg").write_bytes(b"")  # never decoded by the parser
    return folder


def _records(items) -> dict[str, ImageRecord]:
    return {r.image_path.stem: r for r in items if isinstance(r, ImageRecord)}


def test_real_mat_files(tmp_path):
    items = list(get_parser("totaltext")(FIXTURES / "mat", _images(tmp_path, "img1", "img2", "img3", "img4")))
    assert not [i for i in items if isinstance(i, Skipped)]
    records = _records(items)
    assert {k: len(r.instances) for k, r in records.items()} == {"img1": 1, "img2": 9, "img3": 2, "img4": 12}
    (petro,) = records["img1"].instances
    assert petro.text == "PETROSAINS" and not petro.ignore
    assert petro.polygon == [(206.0, 633.0), (251.0, 811.0), (386.0, 931.0), (542.0, 946.0), (620.0, 926.0),
                             (646.0, 976.0), (550.0, 1009.0), (358.0, 989.0), (189.0, 845.0), (140.0, 629.0)]
    img2 = records["img2"].instances
    assert [i.text for i in img2] == ["nauGHTY", "NURIS", "NURIS", "nauGHTY", "EST", "1996", "warunG", "#", "#"]
    assert [i.ignore for i in img2] == [False] * 7 + [True] * 2
    assert sum(i.ignore for i in records["img4"].instances) == 1
    # the annotation tool's file: variable `gt`, Nx1 coordinate vectors
    kel, naughty = records["img3"].instances
    assert (kel.text, naughty.text) == ("kel", "naughty")
    assert kel.polygon[:2] == [(699.0, 201.0), (751.0, 203.0)] and len(kel.polygon) == 10
    assert records["img3"].source == "gt_img3.mat"


def test_txt_encoding_matches_mat(tmp_path):
    images = _images(tmp_path, "img1", "img2", "img3", "img4")
    from_txt = _records(totaltext.parse(FIXTURES / "txt", images))
    from_mat = _records(totaltext.parse(FIXTURES / "mat", images))
    assert sorted(from_txt) == ["img1", "img2"]
    for stem in from_txt:  # poly_gt_img1.txt has its x vector wrapped onto a second line
        assert from_txt[stem].instances == from_mat[stem].instances


@pytest.mark.parametrize(
    ("record", "text", "ignore"),
    [
        ("x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'h'], transcriptions: [u'OPEN']", "OPEN", False),
        ("x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'c'], transcriptions: [u\"Joe's\"]", "Joe's", False),
        ("x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'#'], transcriptions: [u'#']", "#", True),
        ("x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'#'], transcriptions: []", "#", True),
        ("x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'h'], transcriptions: [u'a', u'b']", "a,b", False),
    ],
)
def test_txt_record_variants(record, text, ignore):
    instance = totaltext.parse_txt_record(record)
    assert (instance.text, instance.ignore) == (text, ignore)
    assert instance.polygon == [(1.0, 1.0), (9.0, 1.0), (9.0, 5.0), (1.0, 5.0)]


def test_bad_items_are_skipped(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "poly_gt_img7.txt").write_text(
        "x: [[1 9 9 1]], y: [[1 1 5 5]], ornt: [u'h'], transcriptions: [u'OK']\n"
        "x: [[1 9 9]], y: [[1 1 5 5]], ornt: [u'h'], transcriptions: [u'UNEVEN']\n"
        "x: [[1 9\n"
        "  9 1]] y: garbage\n"
    )
    (gt / "poly_gt_img8.mat").write_bytes(b"not a mat file")
    items = list(totaltext.parse(gt, _images(tmp_path / "imgs", "img7", "img8")))
    skipped = [(i.reason, i.source) for i in items if isinstance(i, Skipped)]
    assert skipped == [("bad_polygon", "poly_gt_img7.txt:2"), ("malformed_line", "poly_gt_img7.txt:3"),
                       ("unreadable_file", "poly_gt_img8.mat")]
    (record,) = [i for i in items if isinstance(i, ImageRecord)]
    assert [i.text for i in record.instances] == ["OK"]


def test_missing_annotations(tmp_path):
    with pytest.raises(ParseError, match="not found"):
        list(totaltext.parse(tmp_path / "Groundtruth", _images(tmp_path / "imgs")))
