#!/usr/bin/env bash
# The test suite, offline: no model hub, no telemetry, no analytics.
set -eu
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest -q -rs --durations=15 "$@"
