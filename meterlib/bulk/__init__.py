"""Files in and out: Stripe's bulk formats (CSV, JSON, JSON Lines, gzip) over the ingest pipeline.

`Metering.import_events` and `Metering.export_events` are the entry points; this package holds
their formats (`formats`), file handling (`sources`), row readers (`reading`), the import adapter
over `meterlib.ingest.Ingest` (`importing`), the export (`exporting`) and the report (`report`).
See ``docs/files.md``.
"""

from meterlib.bulk.formats import FORMATS, Format
from meterlib.bulk.report import ImportRejection, ImportReport

__all__ = ["FORMATS", "Format", "ImportRejection", "ImportReport"]
