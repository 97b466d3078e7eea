"""What kind of file this is: format, text encoding, separator and decimal mark.

Only the first block of the file is looked at (:data:`SAMPLE_BYTES`), so sniffing a large export
is instant. The rules:

- **format** from the first bytes (``PK`` is a zip, so XLSX; ``PAR1`` is Parquet), else text;
- **encoding**: a byte-order mark wins; else UTF-8 if the sample decodes as UTF-8; else
  GB18030 (a superset of GBK and GB2312, the usual encodings of Chinese utility exports) if it
  decodes and its non-ASCII bytes come in pairs, as Chinese characters do; else Latin-1, which
  decodes anything and is reported so the user can check the names;
- **separator**: of comma, semicolon, tab and ``|``, the one that splits every sampled line into
  the same number (above one) of fields, preferring the most fields;
- **decimal mark**: a comma when the separator is not a comma and the cells hold numbers such
  as ``1,5``; a point otherwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataFileError

log = logging.getLogger(__name__)

SAMPLE_BYTES = 256 * 1024
SEPARATORS = (",", ";", "\t", "|")
_DECIMAL_COMMA_CELL = re.compile(r"^\s*-?\d+,\d+\s*$")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]+")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f]")
_DECIMAL_POINT_CELL = re.compile(r"^\s*-?\d+\.\d+\s*$")


@dataclass
class TextDialect:
    """How a delimited text file is written."""

    encoding: str
    delimiter: str
    decimal: str
    header: list[str]
    sample_rows: list[list[str]]
    bytes_per_row: float


def sniff_format(path: Path) -> str:
    """``"xlsx"``, ``"parquet"`` or ``"csv"`` (any delimited text)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataFileError(
            path,
            "this is an old binary Excel (.xls) file, which this program does not read.",
            hint="Save it as .xlsx or CSV in Excel or LibreOffice and import that.",
        )
    return "csv"


def sniff_encoding(raw: bytes) -> str:
    """The text encoding of a file whose first bytes are ``raw``."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            # final=False: a character cut in two at the end of the sample is not an error.
            decoder.decode(raw, final=False)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8" or _paired_high_bytes(raw):
            return encoding
    return "latin-1"


def _paired_high_bytes(raw: bytes) -> bool:
    """True when most bytes above 127 sit next to another one, as in Chinese GBK text.

    Almost any byte string decodes as GB18030, a European export too (``Zähler`` in Windows
    Latin-1 is a valid GBK pair); there, accented letters stand alone between ASCII letters.
    """
    high = _HIGH_BYTE.findall(raw)
    if not high:
        return True
    paired = sum(len(run) for run in high if len(run) > 1)
    return paired >= 0.8 * sum(len(run) for run in high)


def _looks_binary(text: str) -> bool:
    """NUL characters, or more than 1% control characters: no exported table looks like that."""
    if "\x00" in text:
        return True
    return len(_CONTROL.findall(text)) > 0.01 * max(1, len(text))


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))


def sniff_dialect(path: Path) -> TextDialect:
    """Encoding, separator, decimal mark, header and a few rows of a delimited text file."""
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
        more = bool(handle.read(1))
    if not raw.strip():
        raise DataFileError(
            path, "the file is empty.", hint="Choose the exported meter-reading file itself."
        )
    encoding = sniff_encoding(raw)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=not more)
    if _looks_binary(text):
        raise DataFileError(
            path,
            "this is not a text table: it holds binary data (perhaps another kind of file "
            "renamed to .csv).",
            hint="Import the CSV, TSV, XLSX or Parquet file the meter system exported.",
        )
    lines = [line for line in text.splitlines() if line.strip()]
    if more and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut short
    lines = lines[:30]

    delimiter = _pick_delimiter(lines)
    rows = _split(lines, delimiter)
    header = [name.strip() for name in rows[0]]
    sample_rows = rows[1:]
    decimal = _pick_decimal(sample_rows, delimiter)
    sample_body = sum(len(line.encode(encoding, errors="replace")) + 1 for line in lines[1:])
    bytes_per_row = sample_body / max(1, len(lines) - 1)
    log.debug(
        "sniffed %s: encoding=%s delimiter=%r decimal=%r columns=%d",
        path.name,
        encoding,
        delimiter,
        decimal,
        len(header),
    )
    return TextDialect(encoding, delimiter, decimal, header, sample_rows, bytes_per_row)


def _pick_delimiter(lines: list[str]) -> str:
    best, best_fields = ",", 1
    for delimiter in SEPARATORS:
        counts = {len(row) for row in _split(lines, delimiter)}
        if len(counts) == 1:
            fields = counts.pop()
            if fields > best_fields:
                best, best_fields = delimiter, fields
    if best_fields == 1:
        # Ragged lines: take the separator that gives the header the most fields.
        header_fields = {d: len(_split(lines[:1], d)[0]) for d in SEPARATORS}
        best = max(header_fields, key=header_fields.get)
    return best


def _pick_decimal(rows: list[list[str]], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    cells = [cell for row in rows for cell in row]
    commas = sum(bool(_DECIMAL_COMMA_CELL.match(c)) for c in cells)
    points = sum(bool(_DECIMAL_POINT_CELL.match(c)) for c in cells)
    return "," if commas > points else "."
