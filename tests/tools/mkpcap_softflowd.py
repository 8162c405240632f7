#!/usr/bin/env python3
"""Writes a small pcap for producers_softflowd: two ICMP echo exchanges
(id 77), one TCP connection (40000 -> 80, 2.5 s) and one UDP exchange
(5353 -> 53), starting 20 s before now.  Usage: mkpcap_softflowd.py OUT"""
import struct, sys, time
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
def ip(src, dst, proto, payload):
    a = bytes(map(int, src.split('.'))); b = bytes(map(int, dst.split('.')))
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, a, b)
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload
def eth(p):
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + p
def icmp(t, ident, seq):
    h = struct.pack('!BBHHH', t, 0, 0, ident, seq) + b'x' * 32
    return h[:2] + struct.pack('!H', csum(h)) + h[4:]
def tcp(sp, dp, seq, ack, flags):
    return struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
def udp(sp, dp, data):
    return struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data
t0 = time.time() - 20
pk = []
A, B, C = '10.1.0.1', '10.1.0.2', '10.1.0.3'
for s in (1, 2):
    pk.append(ip(A, B, 1, icmp(8, 77, s)))
    pk.append(ip(B, A, 1, icmp(0, 77, s)))
pk += [ip(A, B, 6, tcp(40000, 80, 1, 0, 0x02)), ip(B, A, 6, tcp(80, 40000, 9, 2, 0x12)),
       ip(A, B, 6, tcp(40000, 80, 2, 10, 0x10)), ip(A, B, 6, tcp(40000, 80, 2, 10, 0x11)),
       ip(B, A, 6, tcp(80, 40000, 10, 3, 0x11)), ip(A, B, 6, tcp(40000, 80, 3, 11, 0x10))]
pk += [ip(A, C, 17, udp(5353, 53, b'q' * 30)), ip(C, A, 17, udp(53, 5353, b'r' * 60))]
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i, p in enumerate(pk):
    f = eth(p); ts = t0 + i * 0.5
    out.write(struct.pack('<IIII', int(ts), int((ts % 1) * 1e6), len(f), len(f)) + f)
