"""Serve the chat UI: ``python ui.py [--host H --port P --store DIR --auth user:pw --insecure]``."""

import sys

import assistant  # noqa: F401  (switches off analytics and hub look-ups before gradio loads)
from assistant.webui.serve import main

if __name__ == "__main__":
    sys.exit(main())
