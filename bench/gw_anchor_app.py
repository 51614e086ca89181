"""P6's second anchor: the smallest Flask app served by waitress as the gateway is (8 threads), in its
own process. ``POST /noop`` parses the JSON body and answers 202 with a small JSON object; nothing is
stored. Prints ``PORT <n>`` on stdout once it listens.

    python -m bench.gw_anchor_app
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from waitress.server import create_server


def create() -> Flask:
    app = Flask(__name__)

    @app.post("/noop")
    def noop() -> tuple[object, int]:
        body = request.get_json()
        return jsonify({"ok": True, "fields": len(body)}), 202

    return app


def main() -> None:
    server = create_server(create(), host="127.0.0.1", port=0, threads=8)
    print(f"PORT {server.effective_port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
