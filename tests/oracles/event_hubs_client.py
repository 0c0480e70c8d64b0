"""The official azure-eventhub SDK as an independent client of the Event Hubs emulator.

With EVENT_HUBS_TRANSPORT=websockets in the environment, the clients speak AMQP over WebSockets.

Usage:
  event_hubs_client.py CONNECTION_STRING props
      prints {"hub": ..., "partition_ids": [...], "partitions": {id: properties}}
  event_hubs_client.py CONNECTION_STRING send < envelopes.json
      envelopes.json: {"partitions": {"0": [BODY, ...], ...}} or {"round_robin": [BODY, ...]};
      each BODY is a string sent as one event, in SDK batches; prints the number sent
  event_hubs_client.py CONNECTION_STRING generate COUNT RECORDS PARTITIONS [FIRST]
      sends COUNT Defender envelopes numbered from FIRST (default 0), envelope i to partition
      i % PARTITIONS, each with RECORDS records whose properties.ReportId are i*RECORDS+j;
      prints the number sent
  event_hubs_client.py CONNECTION_STRING receive COUNT
      reads every partition from the start until COUNT events arrived (60 s at most); prints
      one JSON line per event: partition, sequence_number, offset, enqueued_time, body
  event_hubs_client.py STORAGE_CONNECTION_STRING store CONTAINER NAMESPACE HUB CONSUMER_GROUP
      reads the ownership and checkpoint records an event processor keeps in a blob container,
      with the SDK's own azure-eventhub-checkpointstoreblob; prints
      {"ownership": [{partition_id, owner_id, last_modified_time}], "checkpoints": [...]}
"""

import json
import sys
import threading
import time

import os

from azure.eventhub import (
    EventData,
    EventHubConsumerClient,
    EventHubProducerClient,
    TransportType,
)
from azure.eventhub._pyamqp import _transport
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

# The SDK's transport reads every known TCP option of a new socket and sets it again. On the
# loopback interface TCP_MAXSEG can read back as 32768, which setting refuses (EINVAL), so the
# connection fails now and then before a byte is sent. Leave that one option alone.
_transport.KNOWN_TCP_OPTS = {opt for opt in _transport.KNOWN_TCP_OPTS if opt != "TCP_MAXSEG"}



def transport(connection: str) -> dict:
    """The SDK's transport options: over WebSockets, the endpoint's own port instead of 443."""
    if os.environ.get("EVENT_HUBS_TRANSPORT") != "websockets":
        return {"transport_type": TransportType.Amqp}
    endpoint = next(
        part.split("=", 1)[1] for part in connection.split(";") if part.startswith("Endpoint=")
    )
    return {
        "transport_type": TransportType.AmqpOverWebsocket,
        "custom_endpoint_address": endpoint.rstrip("/"),
    }


def props(connection: str) -> None:
    client = EventHubConsumerClient.from_connection_string(
        connection, consumer_group="$Default", retry_total=0, **transport(connection)
    )
    with client:
        hub = client.get_eventhub_properties()
        partitions = {
            pid: client.get_partition_properties(pid) for pid in hub["partition_ids"]
        }
    print(
        json.dumps(
            {
                "hub": hub["eventhub_name"],
                "partition_ids": hub["partition_ids"],
                "partitions": partitions,
            },
            default=str,
        )
    )


def send(connection: str) -> None:
    plan = json.load(sys.stdin)
    producer = EventHubProducerClient.from_connection_string(
        connection, retry_total=2, **transport(connection)
    )
    sent = 0
    with producer:
        groups = [(pid, bodies) for pid, bodies in plan.get("partitions", {}).items()]
        if "round_robin" in plan:
            groups.append((None, plan["round_robin"]))
        for pid, bodies in groups:
            batch = producer.create_batch(partition_id=pid)
            for body in bodies:
                try:
                    batch.add(EventData(body))
                except ValueError:
                    producer.send_batch(batch)
                    sent += len(batch)
                    batch = producer.create_batch(partition_id=pid)
                    batch.add(EventData(body))
            if len(batch):
                producer.send_batch(batch)
                sent += len(batch)
    print(sent)


def envelope(i: int, records: int) -> str:
    tables = ["DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents"]
    return json.dumps(
        {
            "records": [
                {
                    "time": "2026-12-04T09:00:01.1234567Z",
                    "tenantId": "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50",
                    "operationName": "Publish",
                    "category": "AdvancedHunting-" + tables[j % len(tables)],
                    "properties": {
                        "Timestamp": "2026-12-04T09:00:00.0000001Z",
                        "DeviceName": "wks-01.contoso.example",
                        "ReportId": i * records + j,
                        "ProcessCommandLine": 'cmd.exe /c "echo |=\\\\" & é',
                    },
                }
                for j in range(records)
            ]
        }
    )


def generate(connection: str, count: int, records: int, partitions: int, first: int) -> None:
    producer = EventHubProducerClient.from_connection_string(
        connection, retry_total=2, **transport(connection)
    )
    sent = 0
    with producer:
        for pid in range(partitions):
            batch = producer.create_batch(partition_id=str(pid))
            for i in range(first + pid, first + count, partitions):
                body = envelope(i, records)
                try:
                    batch.add(EventData(body))
                except ValueError:
                    producer.send_batch(batch)
                    sent += len(batch)
                    batch = producer.create_batch(partition_id=str(pid))
                    batch.add(EventData(body))
            if len(batch):
                producer.send_batch(batch)
                sent += len(batch)
    print(sent)


def receive(connection: str, count: int) -> None:
    client = EventHubConsumerClient.from_connection_string(
        connection, consumer_group="$Default", retry_total=2, **transport(connection)
    )
    got = []
    lock = threading.Lock()
    done = threading.Event()

    def on_event(context, event) -> None:
        if event is None:
            return
        with lock:
            got.append(
                {
                    "partition": context.partition_id,
                    "sequence_number": event.sequence_number,
                    "offset": event.offset,
                    "enqueued_time": event.enqueued_time.isoformat(),
                    "body": event.body_as_str(),
                }
            )
            if len(got) >= count:
                done.set()

    worker = threading.Thread(
        target=client.receive,
        kwargs={"on_event": on_event, "starting_position": "-1"},
        daemon=True,
    )
    worker.start()
    done.wait(60)
    client.close()
    worker.join(10)
    for event in got:
        print(json.dumps(event))


def store(connection: str, container: str, namespace: str, hub: str, group: str) -> None:
    with BlobCheckpointStore.from_connection_string(connection, container) as records:
        ownership = [
            {
                "partition_id": entry["partition_id"],
                "owner_id": entry["owner_id"],
                "last_modified_time": entry["last_modified_time"],
            }
            for entry in records.list_ownership(namespace, hub, group)
        ]
        checkpoints = [
            {
                "partition_id": entry["partition_id"],
                "sequence_number": entry["sequence_number"],
                "offset": entry["offset"],
            }
            for entry in records.list_checkpoints(namespace, hub, group)
        ]
    print(json.dumps({"ownership": ownership, "checkpoints": checkpoints}))


def main() -> None:
    connection, command = sys.argv[1], sys.argv[2]
    if command == "props":
        props(connection)
    elif command == "send":
        send(connection)
    elif command == "generate":
        first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
        generate(connection, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), first)
    elif command == "receive":
        receive(connection, int(sys.argv[3]))
    elif command == "store":
        store(connection, *sys.argv[3:7])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
