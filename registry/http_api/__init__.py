"""The HTTP/JSON API for the office's software (issue 11): the OfficeService
as resource-style JSON endpoints below /api/v1, plus the report figures."""

from registry.http_api.app import api_routes, build_api

__all__ = ["api_routes", "build_api"]
