#!/usr/bin/env bash
# Installs what the tests use besides the product: openpyxl (from PyPI), the independent reader
# that checks the .xlsx exports. Only when it is missing.
set -euo pipefail
if ! python3 -c "import openpyxl" >/dev/null 2>&1; then
    echo "installing openpyxl (the tests read exported workbooks with it)"
    python3 -m pip install --quiet --disable-pip-version-check openpyxl
fi
