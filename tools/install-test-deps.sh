#!/usr/bin/env bash
# Installs what the tests use besides the product, each only when it is missing.
# From Debian, for the screens' test in a real browser (tools/browser/ui_browser.py):
# - chromium and chromium-driver, the browser and its WebDriver;
# - fonts-noto-cjk, so that the screenshots show the Chinese text;
# - postgresql-15, the server the shared-store tests start a private cluster of
#   (tools/postgres/with-cluster.sh; the product links no PostgreSQL library);
# - haproxy, the reverse proxy before three hub processes in the scale-out benchmark and its
#   smoke run (tools/bench/ScaleOutScenario.swift, docs/operations.md).
# From PyPI:
# - selenium, which drives the browser;
# - openpyxl, the independent reader that checks the .xlsx exports;
# - http-message-signatures and requests, for the independent Python sync client
#   (tools/interop/fieldlog_client.py) that proves the protocol is implementable from its docs;
# - schemathesis, which fuzzes the hub's API from docs/openapi.yaml (tools/apifuzz/fuzz_api.py);
# - zxing-cpp, the independent reader that decodes the console's QR codes (tools/qr/read_qr.py).
set -euo pipefail
missing=()
for pkg in chromium chromium-driver fonts-noto-cjk postgresql-15 haproxy; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing missing packages for the browser, PostgreSQL and proxy tests: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
install() {
    local module=$1 package=$2 why=$3
    if ! python3 -c "import $module" >/dev/null 2>&1; then
        echo "installing $package ($why)"
        python3 -m pip install --quiet --disable-pip-version-check "$package"
    fi
}
install selenium selenium "the screens are tested in chromium through it"
install openpyxl openpyxl "the tests read exported workbooks with it"
install http_message_signatures http-message-signatures "an independent client signs requests to the hub with it"
install requests requests "the independent client's HTTP"
install schemathesis schemathesis "the hub's API is fuzzed from docs/openapi.yaml with it"
install zxingcpp zxing-cpp "an independent reader decodes the console's QR codes"
