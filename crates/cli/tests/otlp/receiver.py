"""An OTLP/HTTP metrics receiver for the tests: it decodes each request
with OpenTelemetry's own protobuf definitions (the `opentelemetry-proto`
package from PyPI), strictly (an unknown or mistyped field is a 400), and
writes every data point as one JSON line to OUT.

usage: receiver.py OUT [STATUS...]
  prints the port it listens on (127.0.0.1) on its first line; the first
  requests are answered with the STATUS codes given, the rest with 200.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

OUT = open(sys.argv[1], "a", buffering=1)
STATUSES = [int(s) for s in sys.argv[2:]]


def attrs(kvs):
    return {kv.key: kv.value.string_value for kv in kvs}


def points(req):
    for rm in req.resource_metrics:
        res = attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                for p in getattr(m, kind).data_points:
                    row = {
                        "name": m.name,
                        "kind": kind,
                        "resource": res,
                        "scope": sm.scope.name,
                        "attrs": attrs(p.attributes),
                        "time": p.time_unix_nano,
                        "start": p.start_time_unix_nano,
                    }
                    if kind == "sum":
                        row["monotonic"] = m.sum.is_monotonic
                        row["temporality"] = m.sum.aggregation_temporality
                    if kind == "histogram":
                        row["count"] = p.count
                        row["sum"] = p.sum
                        row["buckets"] = list(p.bucket_counts)
                        row["bounds"] = list(p.explicit_bounds)
                        row["unit"] = m.unit
                    else:
                        row["value"] = p.as_double
                    yield row


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        OUT.write(json.dumps({"request": self.path,
                              "content_type": self.headers.get("Content-Type"),
                              "api_key": self.headers.get("api-key"),
                              "tenant": self.headers.get("x-tenant")}) + "\n")
        if STATUSES:
            self.answer(STATUSES.pop(0), {})
            return
        req = metrics_service_pb2.ExportMetricsServiceRequest()
        try:
            json_format.Parse(body, req, ignore_unknown_fields=False)
        except json_format.ParseError as e:
            OUT.write(json.dumps({"error": str(e)}) + "\n")
            self.answer(400, {"error": str(e)})
            return
        for row in points(req):
            OUT.write(json.dumps(row) + "\n")
        self.answer(200, {})

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
