#!/usr/bin/env python3
"""Independent check of constrained answers: each input line is {"schema": <JSON Schema or null
for any JSON object>, "output": <text>, "finish_reason": "stop"|"length"}. Answers that stopped
must parse as JSON and validate with the `jsonschema` package (Draft 2020-12); answers cut by
the length limit are counted apart (they are not claimed valid). Prints one summary line
'N passed, M failed' (plus the cut count) and each failure; exits 1 on any failure."""
import json
import sys

import jsonschema

failed, passed, cut = [], 0, 0
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    item = json.loads(line)
    if item["finish_reason"] == "length":
        cut += 1
        continue
    try:
        value = json.loads(item["output"])
        schema = item["schema"] if item["schema"] is not None else {"type": "object"}
        jsonschema.Draft202012Validator(schema).validate(value)
        passed += 1
    except Exception as error:  # noqa: BLE001 - every failure is reported
        failed.append(f"line {number}: {type(error).__name__}: {str(error)[:300]} :: {item['output'][:300]!r}")
for f in failed:
    print(f)
print(f"cut by length: {cut}")
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
