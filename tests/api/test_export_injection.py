"""The CSV export escapes cells a spreadsheet would run as formulas; JSONL keeps the values."""

import csv
import io
import json

from tests.api.test_uploads import project, upload

ATTACKS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_formula_cells_are_escaped_in_csv(client, owner, run_jobs):
    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    lines = [json.dumps({"id": attack, "text": attack, "label": "pos"}) for attack in ATTACKS]
    lines.append(json.dumps({"id": "plain", "text": "a 1-2 text = fine", "label": "neg"}))
    assert upload(client, owner, pid, ("a.jsonl", "\n".join(lines).encode())).status_code == 202
    run_jobs()
    exported = client.get(f"/api/v1/projects/{pid}/export?format=csv", headers=owner).text
    rows = {row["item_id"]: row for row in csv.DictReader(io.StringIO(exported, newline=""))}
    assert len(rows) == len(ATTACKS) + 1
    for row in rows.values():
        for column in ("name", "text"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_text = {row["text"]: row for row in rows.values()}
    assert by_text['\'=HYPERLINK("http://evil")']["name"] == '\'=HYPERLINK("http://evil")'
    assert {"'\tcmd", "'\rcmd", "'@SUM(A1)", "'-2+3", "'+1+1"} <= set(by_text)
    assert by_text["a 1-2 text = fine"]["name"] == "plain"  # only a first character counts
    jsonl = client.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=owner).text
    texts = sorted(json.loads(line)["text"] for line in jsonl.splitlines())
    assert texts == sorted([*ATTACKS, "a 1-2 text = fine"])
