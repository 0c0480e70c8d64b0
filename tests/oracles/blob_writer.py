"""Writes Blob Storage content with the official azure-storage-blob SDK, as an independent
client of the storage account the azure_blob source reads.

Usage: blob_writer.py CONNECTION_STRING < operations.json

operations.json is a JSON array of:
  {"op": "container", "name": C}                       create container C (if missing)
  {"op": "append", "container": C, "blob": B, "data": S}  create append blob B if missing, append S
  {"op": "block", "container": C, "blob": B, "data": S}   write block blob B with S (replacing it)
  {"op": "delete", "container": C, "blob": B}             delete blob B
  {"op": "blocks", "container": C, "blobs": [B...], "data": S}
                                                        write each block blob B with S, 16 at a
                                                        time (for layouts of thousands of blobs)
Prints one line per operation: the blob's size after it (for "blocks", the number written).
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient


def main() -> None:
    service = BlobServiceClient.from_connection_string(sys.argv[1])
    for op in json.load(sys.stdin):
        kind = op["op"]
        if kind == "container":
            try:
                service.create_container(op["name"])
            except ResourceExistsError:
                pass
            print("0")
            continue
        if kind == "blocks":
            data = op["data"].encode("utf-8")
            container = service.get_container_client(op["container"])

            def upload(name: str) -> None:
                container.upload_blob(name, data, overwrite=True)

            with ThreadPoolExecutor(max_workers=16) as pool:
                written = sum(1 for _ in pool.map(upload, op["blobs"]))
            print(written)
            continue
        blob = service.get_blob_client(op["container"], op["blob"])
        if kind == "append":
            if not blob.exists():
                blob.create_append_blob()
            blob.append_block(op["data"].encode("utf-8"))
        elif kind == "block":
            blob.upload_blob(op["data"].encode("utf-8"), overwrite=True)
        elif kind == "delete":
            blob.delete_blob()
            print("0")
            continue
        else:
            raise SystemExit(f"unknown op {kind}")
        print(blob.get_blob_properties().size)


if __name__ == "__main__":
    main()
