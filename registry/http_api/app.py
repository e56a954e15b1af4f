"""The HTTP/JSON API: a second front door to the same application services.

Every request goes the way a gRPC call goes: the registry's :class:`Gate`
authenticates the ``Authorization`` header (an integration's API key as
``Bearer pbx1....``), decides with the one permission table and audits a
refusal, exactly as the gRPC interceptor does, under the gRPC method's name;
then the principal is made the call's (the same context variables), the
protobuf request is built from the JSON (``google.protobuf.json_format``) and
the OfficeServicer method runs. A RegistryError becomes the HTTP status of
registry/http_api/errors.py with the same ErrorInfo reason gRPC sends.

The servicer blocks (SQLite, scrypt), so each call runs in a worker thread,
in a copy of the context: the principal never outlives its request.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Callable
from datetime import date

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from registry import permissions, reports
from registry.auth import Gate, acting_as, current_principal
from registry.errors import INVALID_ARGUMENT, RegistryError, invalid_argument
from registry.http_api.errors import error_body, http_status
from registry.http_api.routes import ENDPOINTS, Endpoint, REPORTS
from registry.identity import Peer
from pickupbox.registry.v1 import registry_pb2 as pb

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
# A report's period is given in days; a longer one is a typo, not a question.
MAX_REPORT_DAYS = 3700
# The largest request is a few hundred bytes; a bigger body is not read to the end.
MAX_BODY_BYTES = 64 * 1024


def _error_response(error: RegistryError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=http_status(error.code))


def http_peer(request: Request) -> Peer:
    """The caller's address written as gRPC writes peers, so the loopback rule
    and the audit log read the same for both front doors."""
    host, port = (request.client.host, request.client.port) if request.client else ("", 0)
    family = "ipv6:[{}]:{}" if ":" in host else "ipv4:{}:{}"
    return Peer(address=family.format(host, port), certificate_names=())


async def _read_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise invalid_argument("body", f"is larger than {MAX_BODY_BYTES // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _service_messages(rpc: str) -> tuple[type[Message], type[Message]]:
    method = pb.DESCRIPTOR.services_by_name["OfficeService"].methods_by_name[rpc]
    return (getattr(pb, method.input_type.name), getattr(pb, method.output_type.name))


def _query_value(field: FieldDescriptor, name: str, value: str):
    """A query parameter as JSON would carry it (json_format then checks the type)."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise invalid_argument(name, f"{value!r} is not true or false")
    return value


def build_request(endpoint: Endpoint, message_type: type[Message], path: dict[str, str],
                  query: list[tuple[str, str]], body: bytes) -> Message:
    """The protobuf request of ``endpoint`` from the HTTP request's parts."""
    fields = message_type.DESCRIPTOR.fields_by_name
    document: dict = {}
    if endpoint.has_body and body.strip():
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise invalid_argument("body", f"is not JSON ({error}); send a JSON object") from None
        if not isinstance(document, dict):
            raise invalid_argument("body", "must be a JSON object")
    for name, value in query:
        field = fields.get(name)
        if field is None or name in endpoint.path_fields or endpoint.has_body:
            known = ", ".join(f for f in fields if f not in endpoint.path_fields)
            raise invalid_argument(name, "is not a parameter of this call"
                                   + ("" if endpoint.has_body else f" (known: {known})"))
        converted = _query_value(field, name, value)
        if field.is_repeated:
            document.setdefault(name, []).append(converted)
        elif name in document:
            raise invalid_argument(name, "is given twice")
        else:
            document[name] = converted
    for name, value in path.items():
        given = document.get(name)
        if given is not None and given != value:
            raise invalid_argument(name, f"the body says {given!r} but the path {value!r}")
        document[name] = value
    try:
        return json_format.ParseDict(document, message_type())
    except json_format.ParseError as error:
        raise RegistryError(grpc.StatusCode.INVALID_ARGUMENT, INVALID_ARGUMENT,
                            f"the request does not fit {message_type.DESCRIPTOR.name}: {error}",
                            {"message": message_type.DESCRIPTOR.name}) from None


def message_json(message: Message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def _day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_argument(name, f"{value!r} is not a day (YYYY-MM-DD)") from None


class HttpApi:
    def __init__(self, registry_server, report_config: reports.ReportConfig | None = None) -> None:
        self._office = registry_server.office
        self._db = registry_server.db
        self._gate: Gate = registry_server.gate  # the gRPC interceptor's, too
        self._reports = report_config or reports.ReportConfig()

    # ------------------------------------------------------------- the gate

    async def _serve(self, request: Request, method: str, work: Callable[[], Response],
                     ) -> Response:
        authorization = request.headers.get("authorization")
        peer = http_peer(request)
        secure = request.url.scheme == "https"

        def call() -> Response:
            try:
                principal = self._gate.admit(method, authorization, peer, secure)
                with acting_as(principal, peer.address, method):
                    return work()
            except RegistryError as error:
                error.run_after_rollback()
                return _error_response(error)

        return await run_in_threadpool(contextvars.copy_context().run, call)

    # ------------------------------------------------------ OfficeService

    def route(self, endpoint: Endpoint) -> Route:
        request_type, _ = _service_messages(endpoint.rpc)
        # The servicer method without its gRPC edge (abort_on_error): errors
        # are turned into HTTP answers here instead.
        method = getattr(type(self._office), endpoint.rpc).__wrapped__

        async def handle(request: Request) -> Response:
            try:
                body = await _read_body(request) if endpoint.has_body else b""
            except RegistryError as too_big:
                return _error_response(too_big)

            def work() -> Response:
                message = build_request(endpoint, request_type, dict(request.path_params),
                                        list(request.query_params.multi_items()), body)
                return JSONResponse(message_json(method(self._office, message, None)))

            return await self._serve(request, endpoint.method, work)

        return Route(endpoint.path, handle, methods=[endpoint.http_method],
                     name=endpoint.rpc)

    # ------------------------------------------------------------ reports

    def _report(self, request: Request) -> reports.Report:
        known = {"start", "end"}
        for name in request.query_params:
            if name not in known:
                raise invalid_argument(name, "is not a parameter of this call (known: start, end)")
        try:
            period = reports.Period(_day("start", request.query_params.get("start")),
                                    _day("end", request.query_params.get("end")))
        except ValueError as error:
            raise invalid_argument("end", str(error)) from None
        if period.start and period.end and (period.end - period.start).days > MAX_REPORT_DAYS:
            raise invalid_argument("end", f"a report covers at most {MAX_REPORT_DAYS} days")
        with self._db.transaction() as tx:
            return reports.load_report(tx, current_principal().office_id, self._reports, period)

    def report_route(self, path: str, rpc: str, render: Callable[[reports.Report], Response]
                     ) -> Route:
        async def handle(request: Request) -> Response:
            return await self._serve(request, REPORTS + rpc,
                                     lambda: render(self._report(request)))

        return Route(path, handle, methods=["GET"], name=f"{rpc}:{path}")


def _csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


REPORT_ROUTES: tuple[tuple[str, str, Callable[[reports.Report], Response]], ...] = (
    ("/reports", "GetReport", lambda r: JSONResponse(r.as_dict())),
    ("/reports:csv", "GetReport", lambda r: _csv(reports.report_csv(r), "report.csv")),
    ("/reports/open-data", "GetOpenData", lambda r: JSONResponse(reports.open_data(r))),
    ("/reports/open-data:csv", "GetOpenData",
     lambda r: _csv(reports.open_data_csv(reports.open_data(r)), "open-data.csv")),
)


def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Unknown paths and methods answer in the API's error format, too."""
    what = "path" if error.status_code == 404 else "method"
    registry_error = RegistryError(
        grpc.StatusCode.NOT_FOUND if error.status_code == 404 else grpc.StatusCode.UNIMPLEMENTED,
        permissions.UNKNOWN_METHOD,
        f"{request.method} {request.url.path}: no such {what} in the API; see {PREFIX}/openapi.json",
    )
    return JSONResponse(error_body(registry_error), status_code=error.status_code)


def build_api(registry_server, report_config: reports.ReportConfig | None = None) -> Starlette:
    """The API's application; mount it at ``/api/v1`` (see :func:`api_routes`)."""
    from registry.http_api.openapi import build_document

    api = HttpApi(registry_server, report_config)
    document = build_document()

    # The API's description is public, like gRPC reflection: it holds no data.
    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    routes = [Route("/openapi.json", openapi, methods=["GET"])]
    routes += [api.route(endpoint) for endpoint in ENDPOINTS]
    routes += [api.report_route(path, rpc, render) for path, rpc, render in REPORT_ROUTES]
    return Starlette(routes=routes, exception_handlers={404: _http_error, 405: _http_error})


def api_routes(registry_server, report_config: reports.ReportConfig | None = None) -> list:
    """What the registry's web front door mounts: ``build_app([*api_routes(server), ...])``."""
    mount = Mount(PREFIX, app=build_api(registry_server, report_config))
    # Starlette's mount pattern stops at a newline, so a reference with one
    # (%0A) fell through to the console's plain-text 404; with DOTALL every
    # path below /api/v1 gets the API's JSON answer (found by schemathesis).
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return [mount]
