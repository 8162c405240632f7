# A long-lived TCP connection (argv: local_addr local_port server_addr
# server_port): sends a line every half second and reads its echo until
# killed; exits 1 if the connection breaks.
import socket
import sys
import time

la, lp, sa, sp = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
fam = socket.AF_INET6 if ":" in la else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((la, lp))
s.connect((sa, sp))
while True:
    s.sendall(b"tick\n")
    got = b""
    while len(got) < 5:
        d = s.recv(64)
        if not d:
            sys.exit(1)
        got += d
    time.sleep(0.5)
