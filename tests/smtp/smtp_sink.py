#!/usr/bin/env python3
"""A real SMTP server on loopback for the tests (Debian python3-aiosmtpd).

Listens on a free 127.0.0.1 port and prints "PORT <n>" once it accepts connections. Every message it accepts is
stored as <dir>/<n>.eml (written to a temporary name, then renamed: a reader never sees half a file) beside
<n>.rcpt, the envelope recipients one per line. Every DATA it is sent counts as an attempt, in <dir>/attempts.

  --fail-first N   answer 451 (try again later) to the first N messages
  --reject         answer 550 (permanent) to every message
  --user/--password  require SMTP AUTH (PLAIN or LOGIN, over plain text: loopback only) with these credentials
"""
import warnings
warnings.simplefilter("ignore")  # aiosmtpd warns about AUTH without TLS: loopback only, on purpose

import argparse
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, folder, fail_first, reject):
        self.folder = folder
        self.fail_first = fail_first
        self.reject = reject
        self.attempts = 0
        self.stored = 0

    def _write(self, name, data):
        tmp = os.path.join(self.folder, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.folder, name))

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        self._write("attempts", str(self.attempts).encode())
        if self.attempts <= self.fail_first:
            return "451 4.3.0 Try again later"
        if self.reject:
            return "550 5.1.1 Mailbox unavailable"
        self.stored += 1
        self._write(f"{self.stored}.rcpt", "\n".join(envelope.rcpt_tos).encode())
        self._write(f"{self.stored}.eml", envelope.original_content or envelope.content)
        return "250 2.0.0 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir, args.fail_first, args.reject)
    auth = {}
    if args.user is not None:
        auth = dict(authenticator=authenticator(args.user, args.password), auth_required=True, auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test", **auth), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    # Ends when the test closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
