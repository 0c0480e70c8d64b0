"""Parses an OpenMetrics exposition (standard input) with the official Python client's parser.

Prints one JSON object per sample: {"family", "type", "name", "labels", "value"}. The parser
raises on anything a Prometheus server would refuse (a missing `# EOF`, a malformed label, a
counter without `_total`, a repeated family), so a clean parse is itself part of the check.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> None:
    text = sys.stdin.read()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            print(
                json.dumps(
                    {
                        "family": family.name,
                        "type": family.type,
                        "name": sample.name,
                        "labels": sample.labels,
                        "value": sample.value,
                    }
                )
            )


if __name__ == "__main__":
    main()
