"""The abstention calibration shipped with the code: confidence weights and threshold, fitted by
`python -m eval calibrate` on the benchmark's dev split and written to calibration.json."""
from __future__ import annotations

import json

from index.settings import CALIBRATION_FILE, load_calibration


def load_weights() -> dict | None:
    return load_calibration().get("weights")


def save_calibration(threshold: float, weights: dict | None, report: dict) -> None:
    data = {"threshold": round(float(threshold), 4), "weights": weights, "report": report}
    CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
