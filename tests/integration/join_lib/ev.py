#!/usr/bin/env python3
"""Prints one libebpfflow-style event (ebpflowexport's JSON shape) per line.

Usage: ev.py TYPE PROTO SRC SPORT DST DPORT IFNAME PID PATH CMDLINE PPID PPATH
  TYPE     CONNECT, ACCEPT, SEND, ... (TCP_EVENT_TYPE for PROTO 6, else
           UDP_EVENT_TYPE)
  SRC/DST  packet order as libebpfflow sends it: on ACCEPT the SRC is the
           remote client, otherwise the SRC is the local endpoint
  IFNAME   INTERFACE_NAME, or - to leave it out
  PID PATH CMDLINE     the local process; PPID PPATH its parent
The process's uid/gid are the caller's.  Several events: repeat the 12
arguments on one command line.  EV_VLAN=N in the environment adds
SRC_VLAN (nProbe's key; libebpfflow sends no VLAN).
"""
import json
import os
import pwd
import grp
import sys
import time

ARGS = 12


def proc(pid, path, cmdline, uid, gid):
    return {"PID": int(pid), "UID": uid, "UID_NAME": pwd.getpwuid(uid)[0],
            "GID": gid, "GID_NAME": grp.getgrgid(gid)[0], "TID": int(pid),
            "PROCESS_PATH": path, "PROCESS_CMDLINE": cmdline}


def event(a):
    typ, proto, src, sport, dst, dport, ifname, pid, path, cmd, ppid, ppath = a
    uid, gid = os.getuid(), os.getgid()
    e = {"timestamp": "%.6f" % time.time()}
    if ifname != "-":
        e["INTERFACE_NAME"] = ifname
    v6 = ":" in src
    e["IP_PROTOCOL_VERSION"] = 6 if v6 else 4
    e["TCP_EVENT_TYPE" if proto == "6" else "UDP_EVENT_TYPE"] = typ
    k = "IPV6" if v6 else "IPV4"
    e[k + "_SRC_ADDR"] = src
    e[k + "_DST_ADDR"] = dst
    e["PROTOCOL"] = int(proto)
    if os.environ.get("EV_VLAN"):
        e["SRC_VLAN"] = int(os.environ["EV_VLAN"])
    e["L4_SRC_PORT"] = int(sport)
    e["L4_DST_PORT"] = int(dport)
    if typ == "CONNECT":
        e["NW_LATENCY_MS"] = "0.100"
    e["LOCAL_PROCESS"] = proc(pid, path, cmd, uid, gid)
    e["LOCAL_FATHER_PROCESS"] = proc(ppid, ppath, "", uid, gid)
    # json-c's spacing and its escaped slashes, as ebpflowexport writes.
    s = json.dumps(e, separators=(", ", ": ")).replace("/", "\\/")
    return "{ " + s[1:-1] + " }"


def main():
    a = sys.argv[1:]
    if not a or len(a) % ARGS:
        sys.exit(__doc__)
    for i in range(0, len(a), ARGS):
        print(event(a[i:i + ARGS]))


main()
