"""The API's OpenAPI 3.1 document, generated from the route table and the proto
descriptors, so it cannot drift from what the server parses and answers.

Message schemas follow protobuf's JSON mapping as the API uses it (proto
field names, enums by name, Timestamps as RFC 3339 strings, 64-bit integers
as strings). The document is committed as docs/openapi.json; regenerate it
with ``tools/generate-openapi`` (``--check`` fails if it is stale; a test
runs that check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from registry.errors import ERROR_DOMAIN
from registry.http_api.errors import ERROR_INFO_TYPE
from registry.http_api.routes import ENDPOINTS, Endpoint
from pickupbox.registry.v1 import registry_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"
API_VERSION = "1.0.0"

_F = FieldDescriptor
_SCALARS = {
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_DOUBLE: {"type": "number"},
    _F.TYPE_FLOAT: {"type": "number"},
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    # JSON numbers lose 64-bit precision: the mapping writes them as strings.
    _F.TYPE_INT64: {"type": "string", "pattern": "^-?[0-9]{1,19}$"},
    _F.TYPE_SINT64: {"type": "string", "pattern": "^-?[0-9]{1,19}$"},
    _F.TYPE_SFIXED64: {"type": "string", "pattern": "^-?[0-9]{1,19}$"},
    _F.TYPE_UINT64: {"type": "string", "pattern": "^[0-9]{1,20}$"},
    _F.TYPE_FIXED64: {"type": "string", "pattern": "^[0-9]{1,20}$"},
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


class _Schemas:
    """Collects the component schemas the operations reach."""

    def __init__(self) -> None:
        self.components: dict[str, dict] = {}

    def enum(self, enum: EnumDescriptor) -> dict:
        if enum.name not in self.components:
            # Proto enums are open: a value newer than this document (a newer
            # kiosk's event type) comes back as its number.
            self.components[enum.name] = {
                "anyOf": [{"type": "string", "enum": [v.name for v in enum.values]},
                          {"type": "integer", "format": "int32"}],
            }
        return _ref(enum.name)

    def field(self, field: FieldDescriptor) -> dict:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value)}
        single = self.single(field)
        if field.is_repeated:
            return {"type": "array", "items": single}
        return single

    def single(self, field: FieldDescriptor) -> dict:
        if field.type == _F.TYPE_ENUM:
            return self.enum(field.enum_type)
        if field.type == _F.TYPE_MESSAGE:
            return self.message(field.message_type)
        return dict(_SCALARS[field.type])

    def object(self, message: Descriptor, leave_out: tuple[str, ...] = (),
               closed: bool = False) -> dict:
        schema: dict = {"type": "object", "properties": {
            f.name: self.field(f) for f in message.fields if f.name not in leave_out
        }}
        if closed:  # requests: an unknown field is refused with 400
            schema["additionalProperties"] = False
        return schema

    def message(self, message: Descriptor) -> dict:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.name not in self.components:
            self.components[message.name] = {}  # placeholder: recursive messages
            self.components[message.name] = self.object(message)
        return _ref(message.name)


_STATUS_TEXT = {
    400: "The request is invalid (reason INVALID_ARGUMENT, metadata.field names the field)",
    401: "No credential, or one that is unknown, revoked or expired",
    403: "The credential lacks the right, or the resource belongs to another office",
    404: "The order, kiosk, staff member or alarm does not exist",
    409: "A conflict: it exists already, or its state does not allow this",
}
COMMON_ERRORS = (400, 401, 403)


def _error_schema() -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "status", "message", "details"],
            "properties": {
                "code": {"type": "integer"},
                "status": {"type": "string", "description": "the gRPC status code's name"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {
                    "type": "object",
                    "required": ["@type", "reason", "domain"],
                    "properties": {
                        "@type": {"const": ERROR_INFO_TYPE},
                        "reason": {"type": "string",
                                   "description": "the reason gRPC's ErrorInfo carries"},
                        "domain": {"const": ERROR_DOMAIN},
                        "metadata": {"type": "object",
                                     "additionalProperties": {"type": "string"}},
                    },
                }},
            },
        }},
    }


def _errors(codes: tuple[int, ...]) -> dict:
    return {str(code): {"description": _STATUS_TEXT[code], "content": {
        "application/json": {"schema": _ref("Error")}}} for code in sorted(set(codes))}


def _path_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/:\\x00-\\x1f\\x7f]+$"}}


def _query_parameters(schemas: _Schemas, message: Descriptor, endpoint: Endpoint) -> list[dict]:
    parameters = []
    for field in message.fields:
        if field.name in endpoint.path_fields:
            continue
        parameter = {"name": field.name, "in": "query", "required": False,
                     "schema": schemas.field(field)}
        if field.is_repeated:
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _operation(schemas: _Schemas, endpoint: Endpoint) -> dict:
    method = pb.DESCRIPTOR.services_by_name["OfficeService"].methods_by_name[endpoint.rpc]
    request, response = method.input_type, method.output_type
    operation: dict = {
        "operationId": endpoint.rpc,
        "summary": endpoint.summary,
        "description": f"Calls OfficeService.{endpoint.rpc} (request {request.name}).",
        "tags": [endpoint.tag],
        "parameters": [_path_parameter(name) for name in endpoint.path_fields],
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": schemas.message(response)}}},
            **_errors(COMMON_ERRORS + endpoint.errors)},
    }
    if endpoint.has_body:
        body = schemas.object(request, leave_out=endpoint.path_fields, closed=True)
        if endpoint.required:
            body["required"] = list(endpoint.required)
        name = request.name if not endpoint.path_fields else f"{endpoint.rpc}Body"
        schemas.components[name] = body
        operation["requestBody"] = {"required": bool(endpoint.required), "content": {
            "application/json": {"schema": _ref(name)}}}
    else:
        operation["parameters"] += _query_parameters(schemas, request, endpoint)
    return operation


_DAY_PARAMETERS = [
    {"name": name, "in": "query", "required": False,
     "description": f"first/last local day of the period (inclusive); default: {default}",
     "schema": {"type": "string", "format": "date"}}
    for name, default in (("start", "the first day with data"), ("end", "the last day with data"))
]
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_SUPPRESSED = {"type": "object",
               "additionalProperties": {"type": ["integer", "null"], "minimum": 0}}
_PERIOD = {"type": "object", "properties": {"start": {"type": ["string", "null"]},
                                            "end": {"type": ["string", "null"]}}}
_REPORT = {
    "type": "object",
    "required": ["period", "timezone", "pickups_total", "pickups_per_day", "pickups_per_hour",
                 "outside_opening_hours", "days_to_pickup", "returns_to_counter",
                 "alarms_by_kind"],
    "properties": {
        "period": _PERIOD,
        "timezone": {"type": "string"},
        "pickups_total": {"type": "integer", "minimum": 0},
        "pickups_per_day": _COUNTS,
        "pickups_per_hour": {"type": "array", "items": {"type": "integer", "minimum": 0},
                             "minItems": 24, "maxItems": 24},
        "outside_opening_hours": {"type": "integer", "minimum": 0},
        "outside_opening_hours_share": {"type": ["number", "null"]},
        "days_to_pickup": _COUNTS,
        "median_days_to_pickup": {"type": ["number", "null"]},
        "returns_to_counter": {"type": "integer", "minimum": 0},
        "returns_per_day": _COUNTS,
        "alarms_by_kind": _COUNTS,
    },
}
_OPEN_DATA = {
    "type": "object",
    "required": ["period", "suppressed_below", "pickups_per_month", "pickups_per_hour",
                 "days_to_pickup", "returns_per_month", "alarms_by_kind"],
    "properties": {
        "period": _PERIOD,
        "timezone": {"type": "string"},
        "suppressed_below": {"type": "integer"},
        "pickups_per_month": _SUPPRESSED,
        "pickups_per_hour": _SUPPRESSED,
        "outside_opening_hours_share": {"type": ["number", "null"]},
        "days_to_pickup": _SUPPRESSED,
        "returns_per_month": _SUPPRESSED,
        "alarms_by_kind": _SUPPRESSED,
    },
}
_REPORT_OPERATIONS = (
    ("/reports", "GetReport", "application/json", _ref("Report"),
     "The office's report figures (auditor, supervisor)"),
    ("/reports:csv", "GetReportCsv", "text/csv", {"type": "string"},
     "The report as CSV: figure,key,value"),
    ("/reports/open-data", "GetOpenData", "application/json", _ref("OpenData"),
     "The anonymous open-data export: aggregated counts, small ones withheld (null)"),
    ("/reports/open-data:csv", "GetOpenDataCsv", "text/csv", {"type": "string"},
     "The open-data export as CSV; a withheld count is empty"),
)


def build_document() -> dict:
    schemas = _Schemas()
    paths: dict[str, dict] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.http_method.lower()] = _operation(
            schemas, endpoint)
    for path, operation_id, media, schema, summary in _REPORT_OPERATIONS:
        paths[path] = {"get": {
            "operationId": operation_id, "summary": summary, "tags": ["reports"],
            "parameters": _DAY_PARAMETERS,
            "responses": {"200": {"description": "OK", "content": {media: {"schema": schema}}},
                          **_errors(COMMON_ERRORS)},
        }}
    schemas.components.update(Error=_error_schema(), Report=_REPORT, OpenData=_OPEN_DATA)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pickupbox registry HTTP/JSON API",
            "version": API_VERSION,
            "description": (
                "The OfficeService of pickupbox.registry.v1 for the office's software."
                " Authenticate with an API key: `Authorization: Bearer pbx1....`."
                " Errors carry the gRPC API's ErrorInfo reason. See docs/http-api.md."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "an API key from `kiosk-registry apikey create`"}},
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or check) docs/openapi.json.")
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed document differs from the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not COMMITTED.exists() or COMMITTED.read_text() != text:
            print(f"{COMMITTED.relative_to(ROOT)} is stale: run tools/generate-openapi",
                  file=sys.stderr)
            return 1
        return 0
    COMMITTED.write_text(text)
    print(f"wrote {COMMITTED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
