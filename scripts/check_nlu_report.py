"""Fails when a `rasa test nlu` intent report is below the quality bar (issue 3: macro-F1 >= 0.90).

Usage: python -m scripts.check_nlu_report REPORT_DIR [--min-macro-f1 0.90]
Reads REPORT_DIR/intent_report.json as written by Rasa and prints accuracy, macro-F1 and the weakest intents.
"""

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("--min-macro-f1", type=float, default=0.90)
    args = parser.parse_args()
    report = json.loads((args.report_dir / "intent_report.json").read_text())
    macro_f1 = report["macro avg"]["f1-score"]
    per_intent = {
        name: row["f1-score"]
        for name, row in report.items()
        if isinstance(row, dict) and "support" in row and not name.endswith("avg")
    }
    weakest = sorted(per_intent.items(), key=lambda item: item[1])[:5]
    accuracy = report["accuracy"]
    print(f"rasa test nlu: {len(per_intent)} intents, accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}")
    print("  weakest: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in weakest))
    if macro_f1 < args.min_macro_f1:
        print(f"FAIL: intent macro-F1 {macro_f1:.3f} < {args.min_macro_f1:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
