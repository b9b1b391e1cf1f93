"""Builds what the Rasa server needs, each step only when its inputs changed (cache by content hash):

1. the ONNX export of all-MiniLM-L6-v2 used by the NLU pipeline (nlu/encoder_export.py, app venv);
2. the trained Rasa model (bot venv), keyed by bot/ config, domain and data, the nlu/ code, the pinned bot
   requirements, the encoder and the sentiment training data (airline CSV and
   ml/data/sentiment_train.yml).

Prints the model path and links it as var/models/current.tar.gz. Run with the app venv's Python.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.paths import APP_PYTHON, BOT_BIN, CACHE, CURRENT_MODEL, ROOT, SHARED_DATA, content_hash

BOT = ROOT / "bot"


def encoder_dir() -> Path:
    key = content_hash([ROOT / "nlu" / "encoder_export.py", ROOT / "requirements" / "app.txt"])
    target = CACHE / f"encoder-{key}"
    if not (target / ".complete").exists():
        print(f"train: exporting the sentence encoder to {target}", flush=True)
        shutil.rmtree(target, ignore_errors=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        subprocess.run(
            [str(APP_PYTHON), "-m", "nlu.encoder_export", "--out", str(target)], check=True, env=env
        )
        (target / ".complete").touch()
    return target


def model_inputs() -> list[Path]:
    return [
        BOT / "config.yml",
        BOT / "domain.yml",
        BOT / "data",
        ROOT / "nlu",
        ROOT / "requirements" / "bot.txt",
        SHARED_DATA / "airline_sentiment" / "train.csv",
        # The sentiment component trains on it too (nlu/sentiment.py); it lives outside bot/ and nlu/.
        ROOT / "ml" / "data" / "sentiment_train.yml",
    ]


def train(encoder: Path) -> Path:
    key = content_hash(model_inputs(), extra=encoder.name)
    model = CACHE / "models" / f"rasa-{key}.tar.gz"
    if model.exists():
        print(f"train: bot model is up to date ({model.name})", flush=True)
        return model
    print(f"train: training the Rasa model {model.name}", flush=True)
    started = time.monotonic()
    env = {
        "SUPPORTDESK_ENCODER_THREADS": "0",  # training encodes batches: every core
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{BOT}",
        "SUPPORTDESK_ENCODER_DIR": str(encoder),
    }
    with tempfile.TemporaryDirectory(dir=CACHE) as out:
        command = [
            str(BOT_BIN / "rasa"),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            out,
            "--fixed-model-name",
            model.name.removesuffix(".tar.gz"),
        ]
        subprocess.run(command, cwd=BOT, env=env, check=True)
        model.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(out) / model.name, model)
    print(f"train: trained in {time.monotonic() - started:.0f} s", flush=True)
    return model


def main() -> int:
    if sys.argv[1:] == ["--encoder-dir"]:
        # For scripts that train NLU themselves (cross-validation, evals): export if needed, print the path.
        print(encoder_dir())
        return 0
    model = train(encoder_dir())
    CURRENT_MODEL.parent.mkdir(parents=True, exist_ok=True)
    CURRENT_MODEL.unlink(missing_ok=True)
    CURRENT_MODEL.symlink_to(model)
    print(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
