#!/usr/bin/env bash
# Regenerates the screenshots of the recovery pages (recovery/pages) in this
# directory: the request and reset pages at 390 px (a phone) and 1280 px (a
# desktop), taken by examples/server's browser test in headless Chromium.
# RECOVERY_TEST_BROWSER names the browser (default /usr/bin/chromium).
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir/.."
RECOVERY_TEST_BROWSER="${RECOVERY_TEST_BROWSER:-/usr/bin/chromium}" RECOVERY_TEST_SCREENSHOTS="$dir" \
	go test -count=1 -run 'TestBrowser/screenshots' -v . | grep -E 'png|^(ok|FAIL|---)'
