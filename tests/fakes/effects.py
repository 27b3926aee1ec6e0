#!/usr/bin/env python3
"""The fault suite's fake upstream (tests/chaos): the service System/Effect (jobs/effect.h)
reports each attempt to. It writes every report as a line of the suite's history (the format
is tests/chaos/checker.py's), stamped with its own clock when the request arrived, and applies
each effect once per dedupe key, as an idempotent upstream does.

Routes (JSON bodies; anything missing or of the wrong type is a 400 naming the field):
  POST /begin   {job, attempt, pid, pgid}           -> {"ok": true}; logs a "begin" event
  POST /effect  {job, attempt, pid, effect, key}    -> {"applied": bool}; logs an "effect" event
                                                       (applied false: the key was seen before)
  POST /end     {job, attempt, pid, outcome}        -> {"ok": true}; logs an "end" event
The fakehttp core's control API (faults, limit, log) applies too, so upstream faults can be
injected the same way as for the other fakes.

Run: effects.py --history PATH [--host 127.0.0.1] [--port 0]; the bound port is printed on
stdout, alone on its line.
"""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakehttp  # noqa: E402

FIELDS = {
    "/begin": (("job", int), ("attempt", int), ("pid", int), ("pgid", int)),
    "/effect": (("job", int), ("attempt", int), ("pid", int), ("effect", str), ("key", str)),
    "/end": (("job", int), ("attempt", int), ("pid", int), ("outcome", str)),
}


class Effects(fakehttp.Service):
    def __init__(self, history):
        self.history = open(history, "a", encoding="utf-8")
        self.hlock = threading.Lock()
        self.keys = set()
        super().__init__()

    def write(self, event):
        with self.hlock:
            self.history.write(json.dumps(event) + "\n")
            self.history.flush()

    def route(self, req):
        fields = FIELDS.get(req.path)
        if fields is None or req.method != "POST":
            return None
        t = req.entry["t_wall"]
        try:
            doc = req.json()
        except ValueError:
            return fakehttp.Response(400, {"error": "body is not JSON"})
        if not isinstance(doc, dict):
            return fakehttp.Response(400, {"error": "body is not a JSON object"})
        event = {"ev": req.path[1:], "t": t}
        for name, typ in fields:
            v = doc.get(name)
            if typ is int and isinstance(v, float) and v.is_integer():
                v = int(v)
            if not isinstance(v, typ) or isinstance(v, bool):
                return fakehttp.Response(400, {"error": f"\"{name}\" must be {typ.__name__}"})
            event[name] = v
        if req.path == "/effect":
            with self.hlock:
                event["applied"] = event["key"] not in self.keys
                self.keys.add(event["key"])
            self.write(event)
            return fakehttp.Response(200, {"applied": event["applied"]})
        self.write(event)
        return fakehttp.Response(200, {"ok": True})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--history", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    fakehttp.serve(Effects(args.history), args.host, args.port)


if __name__ == "__main__":
    main()
