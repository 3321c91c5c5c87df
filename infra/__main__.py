"""``python -m infra up|test`` (``./dev`` runs this after preparing the venv)."""

from __future__ import annotations

import sys

from infra.runner import main

sys.exit(main())
