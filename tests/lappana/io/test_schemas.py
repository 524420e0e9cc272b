"""The summary.json schema shipped with lappana is the one in the repository's schemas/."""

import filecmp
import json
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[3]


def test_summary_schema_shipped_with_lappana_equals_the_repository_one():
    shipped = ROOT / "lappana" / "schemas" / "summary.schema.json"
    assert filecmp.cmp(shipped, ROOT / "schemas" / "summary.schema.json", shallow=False)


def test_summary_schema_is_a_valid_2020_12_schema():
    schema = json.loads((ROOT / "schemas" / "summary.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
