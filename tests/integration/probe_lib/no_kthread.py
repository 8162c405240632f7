# Checks that no event of the probe names a kernel thread as its
# process (a datagram sent from softirq must not be given to ksoftirqd
# or to whichever task it interrupted).
#
#   no_kthread.py EVENTS
#
# EVENTS is evflow-testsub -p output (one JSON payload per line).  A
# LOCAL_PROCESS whose pid is a kernel thread now (PF_KTHREAD in
# /proc/<pid>/stat; kernel threads outlive the test), or whose path is
# a kernel thread's name (ksoftirqd/N, kworker/...), fails.  Prints how
# many processes it checked, or each offender and exits 1.
import json
import re
import sys

PF_KTHREAD = 0x00200000
KNAMES = re.compile(r"^(ksoftirqd|kworker|kthreadd|migration|rcu_|irq/)")


def kthread(pid):
    try:
        stat = open("/proc/%d/stat" % pid).read()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[6]) & PF_KTHREAD != 0     # field 9: flags


bad, seen = [], 0
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if not line.startswith(("{", "[")):
        continue
    try:
        j = json.loads(line)
    except ValueError:
        continue
    for e in j if isinstance(j, list) else [j]:
        p = e.get("LOCAL_PROCESS") if isinstance(e, dict) else None
        if not isinstance(p, dict):
            continue
        seen += 1
        pid, path = p.get("PID", 0), str(p.get("PROCESS_PATH", ""))
        if KNAMES.match(path) or (isinstance(pid, int) and pid > 0 and
                                  kthread(pid)):
            bad.append("%s pid %s path %s" % (
                e.get("TCP_EVENT_TYPE") or e.get("UDP_EVENT_TYPE"), pid, path))
if bad:
    print("events with a kernel thread as process:", *bad, sep="\n  ")
    sys.exit(1)
if seen == 0:
    print("no event with a process")
    sys.exit(1)
print("ok: %d processes" % seen)
