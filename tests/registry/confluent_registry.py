"""A schema registry server speaking the Confluent Schema Registry REST API, for tests.

It implements what serializers and this function call: register a schema under a subject
(POST /subjects/{subject}/versions), look one up (POST /subjects/{subject}), fetch by id
(GET /schemas/ids/{id}) or by GUID (GET /schemas/guids/{guid}; every schema has one, returned
with it, as the newer serializers expect), fetch a subject's version
(GET /subjects/{subject}/versions/{version|latest}), list subjects and schema types, with HTTP basic
auth when REGISTRY_USER_INFO=KEY:SECRET is set. Errors use the registry's codes (40401 subject not
found, 40402 version not found, 40403 schema not found).

With REGISTRY_TLS_CERT and REGISTRY_TLS_KEY (PEM files) it serves HTTPS; with REGISTRY_TLS_CLIENT_CA
too, it requires a client certificate signed by that CA (mutual TLS).

Test controls (not part of the Confluent API):
  GET  /_test/requests           -> {"GET /schemas/ids/1": 2, ...} requests counted per route
  POST /_test/fail {"status": 503, "times": 2, "path": "/schemas/ids/"}  answer the next N
       matching requests with that status
  POST /_test/delay {"seconds": 1.5}   delay every /schemas/ids/ answer (concurrency tests)
  POST /_test/deny {"ids": [3], "all": false}   answer 403 for these schema ids (and their GUIDs), or
       for every request but /_test/ when "all" is true (credentials without any access)

Usage: python confluent_registry.py PORT   (prints "ready PORT" when listening)
"""

import base64
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

LOCK = threading.Lock()
SCHEMAS = []  # index = id - 1: {"schema", "schemaType", "references"}
SUBJECTS = {}  # subject -> [id, ...] (version = position + 1)
REQUESTS = {}
FAULTS = []  # [{"status", "times", "path"}]
DELAY = {"seconds": 0.0}
DENY = {"ids": set(), "all": False}
USER_INFO = os.environ.get("REGISTRY_USER_INFO")


def canonical(schema):
    return (schema.get("schemaType") or "AVRO", schema["schema"], json.dumps(schema.get("references") or [], sort_keys=True))


def guid_of(schema):
    """A schema's GUID: deterministic, from its canonical form."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(canonical(schema))))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.reply(status, {"error_code": code, "message": message})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def authorized(self):
        if not USER_INFO:
            return True
        expected = "Basic " + base64.b64encode(USER_INFO.encode()).decode()
        return self.headers.get("Authorization") == expected

    def route(self, method):
        path = urlparse(self.path).path
        if path.startswith("/_test/"):
            return self.test_control(method, path)
        with LOCK:
            key = f"{method} {path}"
            REQUESTS[key] = REQUESTS.get(key, 0) + 1
            fault = next((f for f in FAULTS if f["times"] > 0 and path.startswith(f["path"])), None)
            if fault:
                fault["times"] -= 1
        if fault:
            return self.error(fault["status"], fault["status"] * 100, "injected fault")
        if not self.authorized():
            return self.error(401, 401, "Unauthorized")
        if DENY["all"]:
            return self.error(403, 40301, "User is denied operation on this resource.")
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts == ["schemas", "types"]:
            return self.reply(200, ["JSON", "PROTOBUF", "AVRO"])
        if method == "GET" and parts[:2] == ["schemas", "ids"] and len(parts) == 3:
            if DELAY["seconds"]:
                time.sleep(DELAY["seconds"])
            if int(parts[2]) in DENY["ids"]:
                return self.error(403, 40301, f"User is denied operation Read on schema {parts[2]}.")
            return self.get_by_id(int(parts[2]))
        if method == "GET" and parts[:2] == ["schemas", "guids"] and len(parts) == 3:
            schema_id = next((i + 1 for i, s in enumerate(SCHEMAS) if guid_of(s) == parts[2]), None)
            if schema_id is None:
                return self.error(404, 40403, f"Schema {parts[2]} not found")
            if schema_id in DENY["ids"]:
                return self.error(403, 40301, f"User is denied operation Read on schema {parts[2]}.")
            return self.get_by_id(schema_id)
        if method == "GET" and parts == ["subjects"]:
            return self.reply(200, sorted(SUBJECTS))
        if parts[:1] == ["subjects"] and len(parts) >= 2:
            subject = parts[1]
            if method == "POST" and len(parts) == 3 and parts[2] == "versions":
                return self.register(subject, self.body())
            if method == "POST" and len(parts) == 2:
                return self.lookup(subject, self.body())
            if method == "GET" and len(parts) == 4 and parts[2] == "versions":
                return self.get_version(subject, parts[3])
            if method == "GET" and len(parts) == 3 and parts[2] == "versions":
                if subject not in SUBJECTS:
                    return self.error(404, 40401, f"Subject '{subject}' not found.")
                return self.reply(200, list(range(1, len(SUBJECTS[subject]) + 1)))
        return self.error(404, 404, f"no route {method} {path}")

    def test_control(self, method, path):
        if path == "/_test/requests":
            with LOCK:
                return self.reply(200, dict(REQUESTS))
        if path == "/_test/fail" and method == "POST":
            with LOCK:
                FAULTS.append(self.body())
            return self.reply(200, {})
        if path == "/_test/delay" and method == "POST":
            DELAY["seconds"] = float(self.body()["seconds"])
            return self.reply(200, {})
        if path == "/_test/deny" and method == "POST":
            body = self.body()
            DENY["ids"] = set(body.get("ids", []))
            DENY["all"] = bool(body.get("all", False))
            return self.reply(200, {})
        if path == "/_test/reset" and method == "POST":
            with LOCK:
                REQUESTS.clear()
                FAULTS.clear()
            DELAY["seconds"] = 0.0
            DENY["ids"] = set()
            DENY["all"] = False
            return self.reply(200, {})
        return self.error(404, 404, "no such test control")

    def schema_body(self, schema_id, subject=None, version=None):
        s = SCHEMAS[schema_id - 1]
        body = {"id": schema_id, "guid": guid_of(s), "schema": s["schema"]}
        if s["schemaType"] != "AVRO":
            body["schemaType"] = s["schemaType"]
        if s["references"]:
            body["references"] = s["references"]
        if subject is not None:
            body["subject"] = subject
            body["version"] = version
        return body

    def register(self, subject, request):
        schema = {
            "schema": request["schema"],
            "schemaType": request.get("schemaType") or "AVRO",
            "references": request.get("references") or [],
        }
        with LOCK:
            existing = next((i + 1 for i, s in enumerate(SCHEMAS) if canonical(s) == canonical(schema)), None)
            if existing is None:
                SCHEMAS.append(schema)
                existing = len(SCHEMAS)
            versions = SUBJECTS.setdefault(subject, [])
            if existing not in versions:
                versions.append(existing)
            version = versions.index(existing) + 1
        self.reply(200, self.schema_body(existing, subject, version))

    def lookup(self, subject, request):
        schema = {
            "schema": request["schema"],
            "schemaType": request.get("schemaType") or "AVRO",
            "references": request.get("references") or [],
        }
        for version, schema_id in enumerate(SUBJECTS.get(subject, []), 1):
            if canonical(SCHEMAS[schema_id - 1]) == canonical(schema):
                return self.reply(200, self.schema_body(schema_id, subject, version))
        return self.error(404, 40403, "Schema not found")

    def get_by_id(self, schema_id):
        if not 1 <= schema_id <= len(SCHEMAS):
            return self.error(404, 40403, f"Schema {schema_id} not found")
        self.reply(200, self.schema_body(schema_id))

    def get_version(self, subject, version):
        versions = SUBJECTS.get(subject)
        if not versions:
            return self.error(404, 40401, f"Subject '{subject}' not found.")
        index = len(versions) if version in ("latest", "-1") else int(version)
        if not 1 <= index <= len(versions):
            return self.error(404, 40402, f"Version {version} not found.")
        self.reply(200, self.schema_body(versions[index - 1], subject, index))

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    cert, key = os.environ.get("REGISTRY_TLS_CERT"), os.environ.get("REGISTRY_TLS_KEY")
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        client_ca = os.environ.get("REGISTRY_TLS_CLIENT_CA")
        if client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"ready {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
