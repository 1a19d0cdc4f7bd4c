"""Wire compatibility of the protobuf contracts: every event and gRPC message keeps its field numbers and types.

The committed ``protobuf_snapshot.json`` is what consumers in the field were built against. Adding a
field or a message is fine; removing, renumbering or retyping one is not. After an intended, compatible
change, refresh the snapshot with ``UPDATE_PROTO_SNAPSHOT=1 pytest tests/contract/test_protobuf_compat.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import grpc_tools
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from grpc_tools import protoc

import crm

SNAPSHOT = Path(__file__).with_name("protobuf_snapshot.json")
PROTOS = Path(__file__).resolve().parents[2] / "protos"
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"

Schema = dict[str, dict[str, Any]]


# describing a schema ---------------------------------------------------------------------------
def _type_of(field: descriptor_pb2.FieldDescriptorProto) -> str:
    kind = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type).removeprefix("TYPE_").lower()
    return f"{kind} {field.type_name.lstrip('.')}" if field.type_name else kind


def _describe_message(prefix: str, message: descriptor_pb2.DescriptorProto, schema: Schema) -> None:
    name = f"{prefix}.{message.name}"
    schema["messages"][name] = {
        str(field.number): {
            "name": field.name,
            "type": _type_of(field),
            "repeated": field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
        }
        for field in message.field
    }
    for nested in message.nested_type:
        _describe_message(name, nested, schema)
    for enum in message.enum_type:
        schema["enums"][f"{name}.{enum.name}"] = {value.name: value.number for value in enum.value}


def describe(files: list[descriptor_pb2.FileDescriptorProto]) -> Schema:
    """Messages (fields by number), enums and gRPC methods of the given ``crm.*`` proto files."""
    schema: Schema = {"messages": {}, "enums": {}, "services": {}}
    for file in files:
        if not file.package.startswith("crm."):
            continue
        for message in file.message_type:
            _describe_message(file.package, message, schema)
        for enum in file.enum_type:
            schema["enums"][f"{file.package}.{enum.name}"] = {value.name: value.number for value in enum.value}
        for service in file.service:
            schema["services"][f"{file.package}.{service.name}"] = {
                method.name: {"input": method.input_type.lstrip("."), "output": method.output_type.lstrip(".")}
                for method in service.method
            }
    return schema


def generated_files() -> list[descriptor_pb2.FileDescriptorProto]:
    """The descriptors of the generated code the services actually import."""
    files = []
    for root in map(Path, crm.__path__):  # a namespace package: walk its folders
        for module_file in sorted(root.rglob("*_pb2.py")):
            module = ".".join(("crm", *module_file.relative_to(root).with_suffix("").parts))
            descriptor: FileDescriptor = importlib.import_module(module).DESCRIPTOR
            proto = descriptor_pb2.FileDescriptorProto()
            descriptor.CopyToProto(proto)
            files.append(proto)
    return files


def compiled_files(root: Path) -> list[descriptor_pb2.FileDescriptorProto]:
    """Compile every .proto under ``root`` with protoc, as `make protos` does."""
    sources = sorted(str(p.relative_to(root)) for p in root.rglob("*.proto"))
    out = root.parent / "descriptors.pb"
    code = protoc.main(["protoc", f"-I{root}", f"-I{WELL_KNOWN}", f"--descriptor_set_out={out}", *sources])
    assert code == 0, f"protoc failed on {root}"
    return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


# comparing two schemas -------------------------------------------------------------------------
def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What in ``new`` breaks readers or writers built against ``old`` (additions never do)."""
    problems = []
    for message, fields in old["messages"].items():
        if message not in new["messages"]:
            problems.append(f"message {message} was removed")
            continue
        for number, field in fields.items():
            now = new["messages"][message].get(number)
            if now is None:
                problems.append(f"{message}.{field['name']} (field {number}) was removed or renumbered")
            elif now != field:
                problems.append(f"{message} field {number} changed from {field} to {now}")
    for enum, values in old["enums"].items():
        for name, number in values.items():
            if new["enums"].get(enum, {}).get(name) != number:
                problems.append(f"enum value {enum}.{name} = {number} was removed or renumbered")
    for service, methods in old["services"].items():
        for method, signature in methods.items():
            now = new["services"].get(service, {}).get(method)
            if now != signature:
                problems.append(f"rpc {service}/{method} {signature} became {now}")
    return problems


# the tests -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def current() -> Schema:
    return describe(generated_files())


def test_every_event_and_grpc_message_keeps_its_field_numbers_and_types(current: Schema) -> None:
    if os.environ.get("UPDATE_PROTO_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no protobuf snapshot: run once with UPDATE_PROTO_SNAPSHOT=1 and commit it"
    snapshot = json.loads(SNAPSHOT.read_text())

    assert breaking_changes(snapshot, current) == []


def test_the_snapshot_covers_every_event_message_and_every_grpc_method(current: Schema) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())

    assert "crm.events.v1.Envelope" in snapshot["messages"]
    assert {m for m in current["messages"] if m.startswith("crm.events.v1.")} <= set(snapshot["messages"])
    for service, methods in current["services"].items():
        for signature in methods.values():
            assert {signature["input"], signature["output"]} <= set(snapshot["messages"]), service


def test_the_generated_code_matches_the_proto_sources(current: Schema, tmp_path: Path) -> None:
    shutil.copytree(PROTOS, tmp_path / "protos")

    assert describe(compiled_files(tmp_path / "protos")) == current, "generated code is stale: run `make protos`"


def _compile_edited(tmp_path: Path, relative: str, old: str, new: str) -> Schema:
    root = tmp_path / "protos"
    shutil.copytree(PROTOS, root)
    source = root / relative
    text = source.read_text()
    assert old in text, f"{relative} no longer contains {old!r}; update this test"
    source.write_text(text.replace(old, new))
    return describe(compiled_files(root))


def test_removing_a_field_breaks_compatibility(current: Schema, tmp_path: Path) -> None:
    edited = _compile_edited(tmp_path, "crm/events/v1/envelope.proto", "string correlation_id = 5;", "")

    assert breaking_changes(current, edited) == [
        "crm.events.v1.Envelope.correlation_id (field 5) was removed or renumbered"
    ]


def test_renumbering_a_field_breaks_compatibility(current: Schema, tmp_path: Path) -> None:
    edited = _compile_edited(tmp_path, "crm/events/v1/envelope.proto", "string producer = 6;", "string producer = 16;")

    assert breaking_changes(current, edited) == ["crm.events.v1.Envelope.producer (field 6) was removed or renumbered"]


def test_changing_a_field_type_breaks_compatibility(current: Schema, tmp_path: Path) -> None:
    edited = _compile_edited(
        tmp_path,
        "crm/contacts/v1/contacts.proto",
        "message GetContactRequest { string contact_id = 1; }",
        "message GetContactRequest { int64 contact_id = 1; }",
    )

    [problem] = breaking_changes(current, edited)
    assert problem.startswith("crm.contacts.v1.GetContactRequest field 1 changed")


def test_removing_a_grpc_method_breaks_compatibility(current: Schema, tmp_path: Path) -> None:
    edited = _compile_edited(
        tmp_path,
        "crm/contacts/v1/contacts.proto",
        "rpc BatchGetContacts(BatchGetContactsRequest) returns (BatchGetContactsResponse);",
        "",
    )

    assert any("BatchGetContacts" in problem for problem in breaking_changes(current, edited))


def test_adding_a_field_and_a_message_keeps_compatibility(current: Schema, tmp_path: Path) -> None:
    edited = _compile_edited(
        tmp_path,
        "crm/events/v1/envelope.proto",
        "google.protobuf.Any payload = 7;",
        "google.protobuf.Any payload = 7;\n  string tenant_region = 8;\n  message Trace { string span_id = 1; }",
    )

    assert "8" in edited["messages"]["crm.events.v1.Envelope"]
    assert "crm.events.v1.Envelope.Trace" in edited["messages"]
    assert breaking_changes(current, edited) == []
