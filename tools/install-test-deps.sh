#!/usr/bin/env bash
# Installs what the tests use besides the product, from PyPI, each only when it is missing:
# - openpyxl, the independent reader that checks the .xlsx exports;
# - http-message-signatures and requests, for the independent Python sync client
#   (tools/interop/fieldlog_client.py) that proves the protocol is implementable from its docs;
# - schemathesis, which fuzzes the hub's API from docs/openapi.yaml (tools/apifuzz/fuzz_api.py).
set -euo pipefail
install() {
    local module=$1 package=$2 why=$3
    if ! python3 -c "import $module" >/dev/null 2>&1; then
        echo "installing $package ($why)"
        python3 -m pip install --quiet --disable-pip-version-check "$package"
    fi
}
install openpyxl openpyxl "the tests read exported workbooks with it"
install http_message_signatures http-message-signatures "an independent client signs requests to the hub with it"
install requests requests "the independent client's HTTP"
install schemathesis schemathesis "the hub's API is fuzzed from docs/openapi.yaml with it"
