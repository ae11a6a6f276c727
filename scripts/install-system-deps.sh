#!/usr/bin/env bash
# Debian packages the tests and the demo use: poppler-utils (pdftotext, pdftoppm) to read the
# PDFs we render; chromium, the headless browser the browser tests (tests/browser) open the HTML
# reports in through Playwright (Playwright never downloads a browser of its own here), and
# fonts-wqy-zenhei (7 MB) so its screenshots show Chinese, Japanese and Korean names as text
# rather than boxes (the reports' readers have their own fonts).
# Installs only what is missing; needs root or sudo for apt-get.
set -euo pipefail
missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
