#!/usr/bin/env bash
# Debian's chromium (Playwright drives it; Playwright's own browser download is not possible offline)
# and poppler-utils (pdftotext, used to spot-check page text). Needs root; without it the browser
# tests skip with a reason.
set -u
if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -q >/dev/null && apt-get install -y -q chromium poppler-utils >/dev/null \
    || echo "note: could not install chromium/poppler-utils; browser tests will skip" >&2
else
  echo "note: not root; install chromium and poppler-utils to run the browser tests" >&2
fi
exit 0
