"""Local, citation-first chat assistant over anti-trafficking reports.

Importing the package is cheap: heavy libraries (torch, sentence-transformers, chromadb,
gradio) are imported only by the code paths that need them. It also switches off every
network side effect we know of (model hub look-ups, telemetry, analytics) before any of
those libraries can be imported.
"""

import os as _os

for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
