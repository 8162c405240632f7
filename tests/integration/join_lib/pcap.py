#!/usr/bin/env python3
"""Writes an Ethernet pcap file from a packet list on stdin.

Usage: pcap.py OUT.pcap < packets
One packet per line: VLAN PROTO SRC SPORT DST DPORT FLAGS PAYLOAD
  VLAN     0 for none, else an 802.1Q tag
  PROTO    6 (TCP) or 17 (UDP); IPv4 addresses
  FLAGS    TCP flags as letters (S, SA, A, PA, FA, R), - for UDP
  PAYLOAD  payload bytes
Packets are 1 ms apart, starting now (the store's retention counts the
rows' own times).
"""
import struct
import sys
import time

FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def addr(a):
    return bytes(int(x) for x in a.split("."))


def frame(vlan, proto, src, sport, dst, dport, flags, n, seq):
    data = b"x" * n
    if proto == 6:
        f = 0
        for c in flags:
            f |= FLAGS[c]
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, f, 64240,
                         0, 0) + data
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + n, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), seq & 0xffff,
                     0, 64, proto, 0, addr(src), addr(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
    if vlan:
        eth += struct.pack("!HH", 0x8100, vlan)
    return eth + b"\x08\x00" + ip + l4


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    t = time.time()
    with open(sys.argv[1], "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, line in enumerate(l for l in sys.stdin if l.strip()):
            v, p, s, sp, d, dp, fl, n = line.split()
            fr = frame(int(v), int(p), s, int(sp), d, int(dp), fl, int(n), i)
            us = int((t + i / 1000.0) * 1e6)
            out.write(struct.pack("<IIII", us // 1000000, us % 1000000,
                                  len(fr), len(fr)))
            out.write(fr)


main()
