"""summary.json's text (bench/session/run_record.py summary_text): the same document as a plain
JSON dump, a line per field and per list item, each check the very line checks.jsonl got."""

import json

from bench.session.run_record import summary_text

SUMMARY = {
    "schema_version": "1.0",
    "dut": {"kind": "dc", "model": "充电机"},
    "tests": [{"nodeid": "a", "checks": 1}, {"nodeid": "b", "checks": 0}],
    "checks": [{"key": "k:1:q", "value": 1.5, "detail": "±2 %"}],
    "problems": [],
    "sim": None,
}


def test_the_text_is_the_same_document():
    lines = [json.dumps(check, ensure_ascii=False) for check in SUMMARY["checks"]]
    assert json.loads(summary_text(SUMMARY, lines)) == SUMMARY


def test_a_line_per_list_item_and_the_checks_as_written():
    lines = ['{"key": "k:1:q", "value": 1.5, "detail": "±2 %"}']
    text = summary_text(SUMMARY, lines)
    assert f"\n  {lines[0]}\n" in text
    assert '\n  {"nodeid": "a", "checks": 1},\n  {"nodeid": "b", "checks": 0}\n' in text
    assert '"problems": []' in text and "充电机" in text  # readable, not \u-escaped


def test_checks_without_their_lines_are_encoded_afresh():
    assert json.loads(summary_text(SUMMARY, [])) == SUMMARY
