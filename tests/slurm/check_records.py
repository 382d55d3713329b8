# SPDX-License-Identifier: MIT
"""Checks the records of the Slurm test's array (run_slurm_test.sh) in WORK.

  check_records.py WORK ok       after the first submission: each of the 4 tasks' record files
                                 holds its 2 jobs, status ok, and every output is a PNG of the
                                 expected size
  check_records.py WORK skipped  after the resubmission: each file holds 2 more records, skipped

Each task must have run exactly its shard: lines k (1-based) with (k - 1) % 4 == task, and say
so in the record's "shard"."""
import glob
import json
import os
import re
import struct
import sys

TASKS = 4


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    return list(struct.unpack(">II", head[16:24]))


def main(work, mode):
    expected = json.load(open(os.path.join(work, "expected.json")))
    files = sorted(glob.glob(os.path.join(work, "jobs.records.*.jsonl")))
    tasks = sorted(int(re.search(r"\.(\d+)\.jsonl$", f).group(1)) for f in files)
    errors = []
    if tasks != list(range(TASKS)):
        errors.append(f"record files for tasks {tasks}, expected 0..{TASKS - 1}")
    seen = set()
    for path in files:
        task = int(re.search(r"\.(\d+)\.jsonl$", path).group(1))
        records = [json.loads(line) for line in open(path)]
        mine = [k for k in range(1, 9) if (k - 1) % TASKS == task]
        want_count = len(mine) * (1 if mode == "ok" else 2)
        if len(records) != want_count:
            errors.append(f"{path}: {len(records)} records, expected {want_count}")
            continue
        new = records[-len(mine):]
        if mode == "skipped" and any(r["status"] != "ok" for r in records[:len(mine)]):
            errors.append(f"{path}: the first submission's records changed")
        for r in new:
            if r["line"] not in mine:
                errors.append(f"{path}: line {r['line']} is not task {task}'s")
            if r["shard"] != f"{task}/{TASKS}":
                errors.append(f"{path}: shard {r['shard']}, expected {task}/{TASKS}")
            if r["status"] != mode:
                errors.append(f"{path}: line {r['line']} is {r['status']} ({r.get('error', '')}), expected {mode}")
            if mode == "ok" and (r.get("iterations") != 2 or "total" not in r.get("terms", {})):
                errors.append(f"{path}: line {r['line']}: iterations/terms missing: {r}")
            out = os.path.join(work, r["output"])
            try:
                size = png_size(out)
                if size != expected[r["output"]]:
                    errors.append(f"{out}: {size[0]}x{size[1]}, expected {expected[r['output']]}")
            except (OSError, ValueError) as e:
                errors.append(f"{out}: {e}")
            seen.add(r["line"])
    if seen != set(range(1, 9)):
        errors.append(f"lines recorded: {sorted(seen)}, expected 1..8")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
