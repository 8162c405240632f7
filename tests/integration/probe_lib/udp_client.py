# One UDP exchange (argv: local_addr local_port server_addr server_port
# go_file): waits until go_file exists (the test reads /proc meanwhile),
# sends 3 datagrams of 100, 200, 300 bytes, expects each echoed twice,
# then stays a second so the test still sees it.
import os
import socket
import sys
import time

la, lp, sa, sp, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5]
fam = socket.AF_INET6 if ":" in la else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((la, lp))
s.settimeout(5)
while not os.path.exists(go):
    time.sleep(0.05)
for n in (100, 200, 300):
    s.sendto(b"u" * n, (sa, sp))
    d, _ = s.recvfrom(65535)
    assert len(d) == 2 * n, len(d)
time.sleep(1)
