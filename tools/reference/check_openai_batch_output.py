#!/usr/bin/env python3
"""Checks `pipeline results JOB --format openai` output with the official `openai` package's
types: every line of OUTPUT must be a Batch API output line whose response body validates as
openai.types.chat.ChatCompletion; every line of ERRORS (optional) must carry response null and
an error that validates as openai.types.BatchError. With --custom-ids a,b,..., the lines'
custom_ids together must be exactly those, each once. Prints 'N passed, M failed'."""
import argparse
import json
import sys

from openai.types import BatchError
from openai.types.chat import ChatCompletion

parser = argparse.ArgumentParser()
parser.add_argument("output")
parser.add_argument("errors", nargs="?")
parser.add_argument("--custom-ids", default=None)
args = parser.parse_args()

passed, failed, seen = 0, [], []


def check(path, is_error):
    global passed
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            item = json.loads(line)
            assert set(item) == {"id", "custom_id", "response", "error"}, f"keys {sorted(item)}"
            assert isinstance(item["id"], str) and isinstance(item["custom_id"], str)
            if is_error:
                assert item["response"] is None
                BatchError.model_validate(item["error"], strict=False)
            else:
                assert item["error"] is None
                response = item["response"]
                assert isinstance(response["status_code"], int) and response["status_code"] == 200
                assert isinstance(response["request_id"], str)
                completion = ChatCompletion.model_validate(response["body"])
                assert completion.object == "chat.completion" and len(completion.choices) == 1
                assert completion.choices[0].finish_reason in ("stop", "length")
                assert completion.usage is not None and completion.usage.total_tokens == (
                    completion.usage.prompt_tokens + completion.usage.completion_tokens)
            seen.append(item["custom_id"])
            passed += 1
        except Exception as error:  # noqa: BLE001 - every failure is reported
            failed.append(f"{path}:{number}: {type(error).__name__}: {error}")


check(args.output, False)
if args.errors:
    check(args.errors, True)
if args.custom_ids is not None:
    expected = sorted(args.custom_ids.split(","))
    if sorted(seen) != expected:
        failed.append(f"custom_ids {sorted(seen)} != expected {expected}")
for f in failed:
    print(f)
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
