"""schemathesis against the running server and its served OpenAPI document:
no 500, every answer's status, content type and body as documented.

Bounded: a few examples per operation (hypothesis, no deadline), one
registry for the module, callers with the rights to reach each operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from registry.http_api.openapi import build_document
from tests.http_api.conftest import serving_api

MAX_EXAMPLES = 8
# The document describes shapes (from the proto descriptors); which values
# are acceptable (a PIN's digits, a known kiosk) is the servicer's rule,
# answered with 400 and its reason. So "valid data is accepted" and "invalid
# data is rejected" are not asked; everything the document promises is.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, ignored_auth]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serving_api(tmp_path_factory.mktemp("fuzz")) as api:
        yield api.web, api.keys


@pytest.fixture(scope="module")
def live_schema(live):
    web, _ = live
    return schemathesis.openapi.from_url(f"{web.url}/api/v1/openapi.json")


OPERATIONS = [op["operationId"] for item in build_document()["paths"].values()
              for op in item.values()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_the_api_keeps_to_its_document(live, live_schema, operation_id, mode):
    web, keys = live
    operation = live_schema.find_operation_by_id(operation_id)
    # Reports are the auditor's; everything else the supervisor may call.
    caller = "auditor" if operation_id.startswith(("GetReport", "GetOpenData")) else "supervisor"
    headers = {"Authorization": f"Bearer {keys[caller]}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def keeps_to_it(case):
        case.call_and_validate(base_url=f"{web.url}/api/v1", headers=headers, checks=CHECKS)

    keeps_to_it()
