"""Prints a Stryker mutation-report.json as docs/reliability.md quotes it: the score and every surviving mutant."""
import json
import os
import sys

report = json.load(open(sys.argv[1]))
root = sys.argv[2] if len(sys.argv) > 2 else ""
counts = {}
survivors = []
for path, data in sorted(report["files"].items()):
    for mutant in data["mutants"]:
        status = mutant["status"]
        counts[status] = counts.get(status, 0) + 1
        if status in ("Survived", "NoCoverage"):
            line = mutant["location"]["start"]["line"]
            survivors.append("%s:%d  %s  %s  %s" % (os.path.relpath(path, root) if root else path, line, status, mutant["mutatorName"], mutant.get("replacement", "").replace("\n", " ")[:80]))
killed = counts.get("Killed", 0) + counts.get("Timeout", 0)
detected_or_not = killed + counts.get("Survived", 0) + counts.get("NoCoverage", 0)
score = 100.0 * killed / detected_or_not if detected_or_not else 0.0
print("score %.2f %% (killed %d, timeout %d, survived %d, no coverage %d; compile errors %d, ignored %d)" % (
    score, counts.get("Killed", 0), counts.get("Timeout", 0), counts.get("Survived", 0), counts.get("NoCoverage", 0),
    counts.get("CompileError", 0), counts.get("Ignored", 0)))
for s in survivors:
    print("  " + s)
