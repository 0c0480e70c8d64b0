"""Checks a Splunk add-on and HEC events the way Splunk's search time would use them.

Usage: splunk_cim_check.py ADDON_DIR DATASETS_JSON < events.jsonl

Each input line is {"sourcetype": ..., "event": {...}, "record": {...}}: an event as HEC
indexes it (its `event` is the raw text Splunk extracts fields from) and the Defender record it
came from. The add-on's .conf files are read with Python's configparser (Splunk's .conf syntax is
INI). For each event the script does what Splunk does at search time, in its order: JSON field
extraction (KV_MODE = json: `a.b` for objects, `a{}` for lists), FIELDALIAS, event types (a
subset of the search language: field=value with `*`, NOT, OR, parentheses, implicit AND), tags.
An event is in a dataset when it has all the dataset's tags. Then, per dataset and field, it
counts the events whose record has the data (one of the field's Defender columns has a value)
and those of them where the field is present, and every value outside the prescribed values.

Prints one JSON object: the conf problems, per sourcetype its event types and datasets, per
dataset the field counts and the first violations.
"""

import configparser
import datetime
import json
import re
import sys
from pathlib import Path


def read_conf(path):
    parser = configparser.ConfigParser(
        interpolation=None, strict=True, comment_prefixes=("#",), delimiters=("=",)
    )
    parser.optionxform = str
    # Splunk allows the empty stanza `[]` (default.meta).
    parser.SECTCRE = re.compile(r"\[(?P<header>.*)\]")
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle)
    return parser


def flatten(value, prefix, out):
    """Splunk's JSON extraction: objects give `a.b`, lists `a{}`; values as text."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list):
        for inner in value:
            flatten(inner, f"{prefix}{{}}", out)
    elif value is None:
        return
    else:
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out.setdefault(prefix, []).append(text)


def decode_json_text(record):
    """A record's columns with stringified JSON (`"AdditionalFields": "{...}"`) decoded, so
    that `AdditionalFields.ThreatName` names the key inside."""
    decoded = {}
    for key, value in record.items():
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        decoded[key] = value
    return decoded


TOKEN = re.compile(r'\s*(\(|\)|[A-Za-z_][\w.{}:]*="(?:[^"\\]|\\.)*"|[A-Za-z_][\w.{}:]*=[^\s()]+|\S+)')


def tokenize(search):
    tokens, position = [], 0
    while position < len(search):
        match = TOKEN.match(search, position)
        if not match or not match.group(1):
            break
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def parse_search(search):
    """Parses the subset into a tree: ("and"|"or", [..]), ("not", x), ("term", field, value)."""
    tokens = tokenize(search)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def parse_or():
        items = [parse_and()]
        while peek() == "OR":
            take()
            items.append(parse_and())
        return ("or", items) if len(items) > 1 else items[0]

    def parse_and():
        items = []
        while peek() not in (None, ")", "OR"):
            if peek() == "AND":
                take()
                continue
            items.append(parse_not())
        if not items:
            raise ValueError(f"empty expression in {search!r}")
        return ("and", items) if len(items) > 1 else items[0]

    def parse_not():
        if peek() == "NOT":
            take()
            return ("not", parse_not())
        if peek() == "(":
            take()
            inner = parse_or()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {search!r}")
            return inner
        token = take()
        if "=" not in token:
            raise ValueError(f"unsupported term {token!r} in {search!r}")
        field, value = token.split("=", 1)
        if value.startswith('"'):
            value = json.loads(value)
        return ("term", field, value)

    tree = parse_or()
    if position != len(tokens):
        raise ValueError(f"unexpected {tokens[position]!r} in {search!r}")
    return tree


def matches(tree, fields):
    kind = tree[0]
    if kind == "and":
        return all(matches(item, fields) for item in tree[1])
    if kind == "or":
        return any(matches(item, fields) for item in tree[1])
    if kind == "not":
        return not matches(tree[1], fields)
    _, field, value = tree
    pattern = re.compile(
        "^" + ".*".join(re.escape(part) for part in value.split("*")) + "$", re.IGNORECASE | re.DOTALL
    )
    return any(pattern.match(text) for text in fields.get(field, []))


def splunk_time_format(fmt):
    """Splunk's strptime extensions this add-on may use, in Python's terms."""
    return fmt.replace("%3N", "%f").replace("%6N", "%f")


def main():
    addon = Path(sys.argv[1])
    datasets = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    absent = set(datasets["absent"])
    datasets = datasets["datasets"]
    problems = []
    confs = {}
    for name in ["app.conf", "props.conf", "eventtypes.conf", "tags.conf"]:
        try:
            confs[name] = read_conf(addon / "default" / name)
        except Exception as error:  # noqa: BLE001 - every parse error is a finding
            problems.append(f"default/{name}: {error}")
    try:
        meta = read_conf(addon / "metadata" / "default.meta")
        if meta.get("", "export", fallback=None) != "system":
            problems.append("metadata/default.meta: [] export is not system")
    except Exception as error:  # noqa: BLE001
        problems.append(f"metadata/default.meta: {error}")
    if problems:
        print(json.dumps({"problems": problems}))
        return

    app = confs["app.conf"]
    if app.get("package", "id", fallback=None) != addon.name:
        problems.append(f"app.conf: [package] id is not the directory's name {addon.name}")
    for section, key in [("launcher", "version"), ("id", "name"), ("ui", "is_visible")]:
        if not app.has_option(section, key):
            problems.append(f"app.conf: [{section}] {key} missing")

    props = confs["props.conf"]
    aliases = {}
    for stanza in props.sections():
        if props.get(stanza, "KV_MODE", fallback=None) != "json":
            problems.append(f"props.conf [{stanza}]: KV_MODE is not json")
        for key, value in props.items(stanza):
            if key.startswith("FIELDALIAS-"):
                parts = value.split()
                if len(parts) != 3 or parts[1].upper() != "AS":
                    problems.append(f"props.conf [{stanza}] {key}: not `field AS alias`")
                    continue
                aliases.setdefault(stanza, []).append((parts[0], parts[2]))
        try:
            re.compile(props.get(stanza, "TIME_PREFIX").replace("\\{", "\\{"))
        except Exception as error:  # noqa: BLE001
            problems.append(f"props.conf [{stanza}]: TIME_PREFIX: {error}")

    eventtypes = {}
    for stanza in confs["eventtypes.conf"].sections():
        try:
            eventtypes[stanza] = parse_search(confs["eventtypes.conf"].get(stanza, "search"))
        except Exception as error:  # noqa: BLE001
            problems.append(f"eventtypes.conf [{stanza}]: {error}")
    tags = {}
    for stanza in confs["tags.conf"].sections():
        if not stanza.startswith("eventtype="):
            problems.append(f"tags.conf [{stanza}]: not an eventtype stanza")
            continue
        eventtype = stanza.split("=", 1)[1]
        if eventtype not in eventtypes:
            problems.append(f"tags.conf [{stanza}]: no such event type")
        for tag, state in confs["tags.conf"].items(stanza):
            if state != "enabled":
                problems.append(f"tags.conf [{stanza}] {tag} = {state}")
            tags.setdefault(eventtype, set()).add(tag)

    report = {
        name: {"events": 0, "fields": {}, "violations": [], "violation_count": 0}
        for name in datasets
    }
    sourcetypes = {}
    multi_model = []
    for number, line in enumerate(sys.stdin, 1):
        item = json.loads(line)
        sourcetype, event, record = item["sourcetype"], item["event"], item["record"]
        seen = sourcetypes.setdefault(
            sourcetype, {"events": 0, "eventtypes": {}, "datasets": {}, "untimed": 0}
        )
        seen["events"] += 1
        if not props.has_section(sourcetype):
            problems.append(f"line {number}: sourcetype {sourcetype} has no props.conf stanza")
            continue
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        prefix = re.search(props.get(sourcetype, "TIME_PREFIX"), raw)
        try:
            if not prefix:
                raise ValueError("TIME_PREFIX not found")
            text = raw[prefix.end(): prefix.end() + int(props.get(sourcetype, "MAX_TIMESTAMP_LOOKAHEAD"))]
            datetime.datetime.strptime(
                text.split('"')[0], splunk_time_format(props.get(sourcetype, "TIME_FORMAT"))
            )
        except ValueError:
            if "time" in event:
                seen["untimed"] += 1
        fields = {}
        flatten(event, "", fields)
        fields["sourcetype"] = [sourcetype]
        for original, alias in aliases.get(sourcetype, []):
            if original in fields and alias not in fields:
                fields[alias] = list(fields[original])
        event_tags = set()
        for eventtype, tree in eventtypes.items():
            if matches(tree, fields):
                seen["eventtypes"][eventtype] = seen["eventtypes"].get(eventtype, 0) + 1
                event_tags |= tags.get(eventtype, set())
        columns = {}
        flatten(decode_json_text(record.get("properties", record)), "", columns)
        models = set()
        for name, dataset in datasets.items():
            if not set(dataset["tags"]) <= event_tags:
                continue
            if name == "Authentication" and matches(
                parse_search('action=success user=*$'), fields
            ):
                continue
            models.add(name.split(".")[0])
            seen["datasets"][name] = seen["datasets"].get(name, 0) + 1
            counts = report[name]
            counts["events"] += 1
            for field, sources in dataset["fields"].items():
                def has(source):
                    return any(
                        text.strip() and text.strip().lower() not in absent
                        for text in columns.get(source, [])
                    )

                has_data = sources == ["*"] or any(
                    all(has(part) for part in source.split("&")) for source in sources
                )
                present = any(text.strip() for text in fields.get(field, []))
                entry = counts["fields"].setdefault(field, {"with_data": 0, "present": 0})
                if has_data:
                    entry["with_data"] += 1
                    entry["present"] += int(present)
            violations = []
            for field, allowed in dataset.get("values", {}).items():
                for text in fields.get(field, []):
                    value = text.lower() if field in dataset.get("lower", []) else text
                    if value not in allowed:
                        violations.append(f"{field}={text!r} not in {allowed}")
            for field, refused in dataset.get("not_values", {}).items():
                for text in fields.get(field, []):
                    if text.lower() in refused:
                        violations.append(f"{field}={text!r} is excluded by the dataset's constraint")
            for field, needs in dataset.get("value_needs_tag", {}).items():
                for text in fields.get(field, []):
                    tag = needs.get(text.lower())
                    if tag and tag not in event_tags:
                        violations.append(f"{field}={text!r} without the tag {tag}")
            for field, pattern in dataset.get("patterns", {}).items():
                for text in fields.get(field, []):
                    if not re.match(pattern, text):
                        violations.append(f"{field}={text!r} does not match {pattern}")
            for field, of in dataset.get("count_of", {}).items():
                for text in fields.get(field, []):
                    if text != str(len(fields.get(of, []))):
                        violations.append(f"{field}={text} but {of} has {len(fields.get(of, []))} values")
            counts["violation_count"] += len(violations)
            for violation in violations:
                if len(counts["violations"]) < 10:
                    counts["violations"].append(f"{sourcetype}: {violation}")
        if len(models) > 1:
            multi_model.append(f"line {number} ({sourcetype}): in {sorted(models)}")
    print(
        json.dumps(
            {
                "problems": problems,
                "sourcetypes": sourcetypes,
                "datasets": report,
                "multi_model": multi_model[:10],
                "eventtypes": sorted(eventtypes),
                "tagged_eventtypes": sorted(tags),
            }
        )
    )


if __name__ == "__main__":
    main()
