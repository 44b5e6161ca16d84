# The example app of the image without Node (examples/Dockerfile.executable): like server.js, it reads its
# secret from the environment and never logs it, only whether it is there, and stops cleanly on SIGTERM.
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format, *args):
        pass


print(f"DB_PASSWORD is {'set' if os.environ.get('DB_PASSWORD') else 'missing'}", flush=True)
server = HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Ok)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server.serve_forever()
