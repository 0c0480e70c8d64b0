"""Parses CEF lines (stdin, one per line) with cefp; prints one JSON object per line: the
parse as {"version", "vendor", "product", "device_version", "class_id", "name", "severity",
"extension"}, or {"error": "..."}."""
import json
import sys

from cefp import parse

for line in sys.stdin:
    line = line.rstrip("\n")
    try:
        cef = parse(line)
        out = {
            "version": cef["version"],
            "vendor": cef["device"]["vendor"],
            "product": cef["device"]["product"],
            "device_version": cef["device"]["version"],
            "class_id": cef["device"]["event_class_id"],
            "name": cef["name"],
            "severity": cef["severity"],
            "extension": cef.get("extension") or {},
        }
    except Exception as error:  # any parse failure is reported for that line
        out = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(out, ensure_ascii=False))
