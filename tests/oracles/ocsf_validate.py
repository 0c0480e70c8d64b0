"""Validates OCSF events (stdin, one JSON object per line) with pydantic-ocsf at a pinned schema
version (argv[1], e.g. v1_5_0); prints one JSON object per line: {"class": NAME} when valid, or
{"error": "..."}.

pydantic-ocsf accepts attributes a class does not define; this check does not: every attribute
outside `unmapped` must be one the schema defines, so a misspelt path fails."""
import importlib
import json
import sys

from pydantic import BaseModel

version = sys.argv[1]
schema = importlib.import_module(f"ocsf.{version}")
# pydantic-ocsf leaves the Base Event's forward references unresolved.
schema.events.BaseEvent.model_rebuild(_types_namespace=vars(schema.objects))

# The classes siemflow emits, by class_uid. pydantic-ocsf has no classes of the Windows
# extension (Registry Key and Value Activity, Windows Service Activity: 201001, 201002, 201004):
# those are checked against the Base Event, the part of them the core schema defines, plus their
# activity ids and attribute names here.
CLASSES = {
    0: "BaseEvent",
    1001: "FileActivity",
    1005: "ModuleActivity",
    1006: "ScheduledJobActivity",
    1007: "ProcessActivity",
    1009: "ScriptActivity",
    2004: "DetectionFinding",
    3001: "AccountChange",
    3002: "Authentication",
    3006: "GroupManagement",
    4001: "NetworkActivity",
    4009: "EmailActivity",
    4011: "EmailFileActivity",
    4012: "EmailUrlActivity",
    5001: "InventoryInfo",
    5003: "UserInventory",
    6003: "ApiActivity",
    6005: "DatastoreActivity",
    201001: "BaseEvent",
    201002: "BaseEvent",
    201004: "BaseEvent",
}
# The Windows extension's activities (OCSF `win/registry_key_activity`, `registry_value_activity`).
EXTENSION_ACTIVITIES = {
    201001: {1, 2, 3, 4, 5, 6, 7, 8, 9, 99},
    201002: {1, 2, 3, 4, 99},
    201004: {1, 2, 3, 4, 5, 6, 7, 99},
}
EXTENSION_ATTRIBUTES = {
    201001: {"actor", "device", "reg_key", "prev_reg_key"},
    201002: {"actor", "device", "reg_value", "prev_reg_value", "reg_key"},
    201004: {"actor", "device", "win_service"},
}
# The host profile (`metadata.profiles: ["host"]`) adds these to any class.
HOST_PROFILE = {"actor": "Actor", "device": "Device"}


def extras(model, path, allowed=()):
    """Attribute paths the schema does not define, below `model`."""
    found = []
    for key in (model.model_extra or {}):
        if key not in allowed:
            found.append(f"{path}{key}")
    for name in type(model).model_fields:
        if name == "unmapped":
            continue
        found.extend(extras_in(getattr(model, name), f"{path}{name}."))
    return found


def extras_in(value, path):
    if isinstance(value, BaseModel):
        return extras(value, path)
    if isinstance(value, list):
        return [extra for item in value for extra in extras_in(item, path)]
    return []


for line in sys.stdin:
    try:
        event = json.loads(line)
        class_uid = event["class_uid"]
        name = CLASSES[class_uid]
        checked = event
        if class_uid in EXTENSION_ACTIVITIES:
            # The Base Event's activity enum is 0 or 99: check the extension's own activity and
            # type_uid here, and the rest as a Base Event of activity Other.
            activity_id = event["activity_id"]
            if activity_id not in EXTENSION_ACTIVITIES[class_uid]:
                raise ValueError(f"activity_id {activity_id} is not one of class {class_uid}")
            if event["type_uid"] != class_uid * 100 + activity_id:
                raise ValueError(f"type_uid {event['type_uid']} is not class_uid * 100 + activity_id")
            checked = dict(event, activity_id=99, type_uid=class_uid * 100 + 99)
        model = getattr(schema.events, name).model_validate(checked)
        allowed = set(EXTENSION_ATTRIBUTES.get(class_uid, ()))
        if "host" in (event.get("metadata", {}).get("profiles") or []):
            allowed |= HOST_PROFILE.keys()
        unknown = extras(model, "", allowed)
        # Attributes pydantic-ocsf does not model for the class (profile, extension): checked
        # as the objects they are.
        for key, object_name in HOST_PROFILE.items():
            if key in (model.model_extra or {}):
                inner = getattr(schema.objects, object_name).model_validate(event[key])
                unknown.extend(extras(inner, f"{key}."))
        if unknown:
            raise ValueError(f"attributes {name} does not define: {', '.join(unknown)}")
        out = {"class": name}
    except Exception as error:  # any failure is reported for that line
        out = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(out, ensure_ascii=False))
