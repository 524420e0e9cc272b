"""Every file-content case of the hostile corpus is refused with a sentence naming the problem."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.helpers.hostile import FILE_KINDS, HOSTILE_CASES, VALID_CASES, create_case, prepared_site
from spoold.request import RequestRejected, parse_request, read_request_file, validate_request_file

NOW = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return prepared_site(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_enough():
    assert len(HOSTILE_CASES) >= 40
    kinds = {case.kind for case in HOSTILE_CASES}
    assert kinds == {"file", "oversize", "slow", "directory", "symlink", "fifo"}


@pytest.mark.parametrize(
    "case", [c for c in HOSTILE_CASES if c.kind in FILE_KINDS], ids=lambda c: c.name
)
def test_hostile_content_is_rejected_with_the_phrase(case, site):
    raw = case.bytes_for(site.limits.max_request_bytes)
    with pytest.raises(RequestRejected) as caught:
        parse_request(raw, site=site, now=NOW)
    errors = caught.value.errors
    assert errors, "a rejection without a reason"
    text = "\n".join(errors)
    assert case.phrase in text, text
    for sentence in errors:
        assert sentence.endswith((".", "?")), sentence
        assert "Traceback" not in sentence and len(sentence) < 600, sentence
        assert "\n" not in sentence and "\r" not in sentence, sentence


@pytest.mark.parametrize(
    "case", [c for c in HOSTILE_CASES if c.kind not in FILE_KINDS], ids=lambda c: c.name
)
def test_non_files_in_incoming_are_refused_without_reading(case, site, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    create_case(case, incoming)
    path = incoming / f"{case.name}.yaml"
    with pytest.raises(RequestRejected) as caught:
        read_request_file(path, max_bytes=site.limits.max_request_bytes)
    assert case.phrase in caught.value.errors[0]


def test_still_being_written_case_is_complete_only_at_the_end(site, tmp_path):
    case = next(c for c in HOSTILE_CASES if c.kind == "slow")
    first_half = case.content[: case.content.index(b"notfy")]
    parse_request(first_half, site=site, now=NOW)  # the part written first is valid on its own
    thread = create_case(case, tmp_path, interval=0.01)
    thread.join()
    assert (tmp_path / f"{case.name}.yaml").read_bytes() == case.content


def test_oversize_file_is_not_read_past_the_limit(site, tmp_path):
    case = next(c for c in HOSTILE_CASES if c.kind == "oversize")
    create_case(case, tmp_path, limit=site.limits.max_request_bytes)
    errors = validate_request_file(tmp_path / "oversize.yaml", site)
    assert len(errors) == 1 and case.phrase in errors[0]


def test_symlink_is_followed_only_when_asked(site, tmp_path):
    target = tmp_path / "real.yaml"
    target.write_bytes(VALID_CASES[0][1])
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    with pytest.raises(RequestRejected, match="symbolic link"):
        read_request_file(link, max_bytes=1024 * 64)
    assert read_request_file(link, max_bytes=1024 * 64, follow_symlinks=True) == target.read_bytes()


@pytest.mark.parametrize("name,raw", VALID_CASES, ids=[n for n, _ in VALID_CASES])
def test_odd_but_valid_requests_are_accepted(name, raw, site):
    request = parse_request(raw, site=site, now=NOW)
    assert request.source_name == "Crab Nebula"
    assert request.night == dt.date(2023, 12, 7)


def test_fifo_does_not_block(site, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in validate_request_file(fifo, site)[0]


def test_mutated_requests_never_crash_the_parser(site):
    """Random edits of the corpus (seeded): every outcome is a Request or sentences, never a crash."""
    import random

    from tests.helpers.hostile import GOOD

    rng = random.Random(20231207)
    seeds = [GOOD.encode()] * 40 + [c.content for c in HOSTILE_CASES if c.kind == "file"]
    alphabet = b" :-[]{},'\"\n\t#&*!|>?%@`0123456789.abcxyz\\\x00\xff\xc3"
    outcomes = {"accepted": 0, "rejected": 0}
    for _ in range(1500):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            pos = min(rng.randint(0, len(raw)), max(len(raw) - 1, 0))
            op = rng.random()
            if op < 0.4 or not raw:
                raw[pos:pos] = bytes([rng.choice(alphabet)])
            elif op < 0.7:
                del raw[pos]
            else:
                raw[pos] = rng.choice(alphabet)
        try:
            parse_request(bytes(raw), site=site, now=NOW)
            outcomes["accepted"] += 1
        except RequestRejected as rejected:
            outcomes["rejected"] += 1
            assert rejected.errors
            for sentence in rejected.errors:
                assert "\n" not in sentence and sentence.endswith((".", "?")), sentence
    print(outcomes)
    assert outcomes["rejected"] > 1000 and outcomes["accepted"] > 0
