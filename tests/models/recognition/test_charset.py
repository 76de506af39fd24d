"""Charsets: the case rule, unknown characters dropped, ids 1..size, file charsets checked line by line."""
from __future__ import annotations

import pytest

from models.recognition.charset import LOWER36, PRINTABLE94, CharsetConfig, charset_of


def test_lower36_lowercases_and_drops_unknown_characters():
    charset = charset_of({"kind": "lower36"})
    assert (charset.size, len(LOWER36)) == (36, 36)
    assert charset.normalise("Café-42!") == "caf42"
    ids = charset.encode("Ab9")
    assert ids == [11, 12, 10]  # '0'..'9' are 1..10, 'a' is 11
    assert charset.decode(ids) == "ab9"


def test_printable94_keeps_case_and_punctuation_but_not_spaces():
    charset = charset_of(CharsetConfig(kind="printable94"))
    assert charset.size == len(PRINTABLE94) == 94
    assert charset.normalise("It's 5 €!") == "It's5!"
    assert charset.decode([0, *charset.encode("Hi!"), charset.size + 1]) == "Hi!"  # 0 and specials skipped


def test_a_label_with_nothing_in_the_set_encodes_empty():
    assert charset_of({"kind": "lower36"}).encode("€£ ") == []


def test_file_charset_one_character_per_line(tmp_path):
    path = tmp_path / "cjk.txt"
    path.write_text("中\n文\n\n字\n", encoding="utf-8")
    charset = charset_of({"kind": "file", "path": str(path)})
    assert (charset.size, charset.encode("文字x")) == (3, [2, 3])


@pytest.mark.parametrize("text, message", [("中\n文\n中\n", r"cjk.txt:3: '中' repeats line 1"),
                                           ("中\nab\n", r"cjk.txt:2: one character per line expected")])
def test_file_charset_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "cjk.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        charset_of({"kind": "file", "path": str(path)})


def test_file_kind_needs_a_path():
    with pytest.raises(ValueError, match="'path' is required for kind 'file'"):
        CharsetConfig(kind="file")
