"""CSV cells that cannot become formulas, and a file Excel reads as UTF-8."""

from __future__ import annotations

import csv
import io

import pytest

from portal.domain.csv_export import BOM, csv_bytes, csv_text, neutralise_cell


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example","click")',
        "+44 20 7946 0000",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1",
        "\r=1",
        "=",
    ],
)
def test_neutralise_cell_prefixes_formula_starts_with_a_quote(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["Alice", "", " =1", "a=b", "SP-2026-7K3F9Q", "2026-11-25 10:00:00 UTC", "'already"],
)
def test_neutralise_cell_leaves_ordinary_text_alone(value):
    assert neutralise_cell(value) == value


def test_neutralise_cell_turns_none_and_numbers_into_text():
    assert neutralise_cell(None) == ""
    assert neutralise_cell(3) == "3"
    assert neutralise_cell(-3) == "'-3"


def test_csv_bytes_start_with_a_bom_and_parse_back():
    data = csv_bytes(["Name", "Organisation"], [["Siân Zoë", 'Café, "Ltd"\nLondon']])

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["Name", "Organisation"], ["Siân Zoë", 'Café, "Ltd"\nLondon']]


def test_csv_text_neutralises_every_cell_and_uses_crlf():
    text = csv_text(["=Header"], [["@evil"], ["fine"]])

    assert text == BOM + "'=Header\r\n'@evil\r\nfine\r\n"
