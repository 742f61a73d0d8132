"""The admin's entry point: ``python ingest.py [--source DIR] [--index DIR] [--json]``.

Same as ``policybot ingest``. Exits 0 when every file was ingested, 1 when some failed
(the rest are ingested and the report names each failure), 2 on a usage or setting error.
"""

import sys

from adapters.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
