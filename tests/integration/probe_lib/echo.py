# TCP and UDP echo on an IPv4 and an IPv6 address (argv: v4 v6 port), for
# the probe tests: the accepting and receiving process is this one.
import socket
import socketserver
import sys
import threading


class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class T6(T):
    address_family = socket.AF_INET6


class U(socketserver.UDPServer):
    allow_reuse_address = True


class U6(U):
    address_family = socket.AF_INET6


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(4096)
            if not d:
                return
            self.request.sendall(d)


class UEcho(socketserver.BaseRequestHandler):
    def handle(self):
        self.request[1].sendto(self.request[0] * 2, self.client_address)


port = int(sys.argv[3])
servers = [T((sys.argv[1], port), Echo), T6((sys.argv[2], port), Echo),
           U((sys.argv[1], port), UEcho), U6((sys.argv[2], port), UEcho)]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
