"""Readers and writers of consumption data files.

- :func:`read_dataset` reads a wide or long CSV/TSV, XLSX or Parquet file, sniffing format,
  encoding, separator, decimal mark and layout, into a checked
  :class:`core.dataset.ConsumptionData` whose ``notes`` say what the import did;
- :func:`preview` is the quick look the import page shows before reading the whole file;
- :func:`write_wide_csv` writes the canonical SGCC layout.
"""

from core.io.preview import ImportPreview, preview
from core.io.reading import read_dataset
from core.io.writer import write_wide_csv

__all__ = ["ImportPreview", "preview", "read_dataset", "write_wide_csv"]
