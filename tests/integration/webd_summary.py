"""The dashboard summary (/api/v1/summary) in the form two backends must
agree on: without the clock (now, from, to); a top 10 cut among ties
may keep any of them, so the tied rows at its end are left out; lists
whose order SQL leaves open become sets (sorted).  For the tests'
python (clickhouse_api.sh), with PYTHONPATH set to this directory."""
import json


def comparable(j):
    for k in ("now", "from", "to"):
        j.pop(k, None)
    for k in ("top_processes", "top_talkers"):
        v = j.get(k)
        if isinstance(v, list) and len(v) == 10:
            last = (v[-1]["bytes"], v[-1]["flows"])
            while v and (v[-1]["bytes"], v[-1]["flows"]) == last:
                v.pop()
    for k, v in j.items():
        if isinstance(v, list):
            j[k] = sorted(v, key=lambda x: json.dumps(x, sort_keys=True))
    return j
