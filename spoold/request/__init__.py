"""The request: safe YAML, schema, sentences, and the checks that need the site.

``parse_request(raw, site=site, now=now)`` returns a :class:`Request` or raises
:class:`RequestRejected` whose ``errors`` are sentences naming the field and its
line; ``validate_request_file(path, site)`` returns exactly those sentences.
"""

from spoold.request.intake import entry_problem, read_request_file
from spoold.request.model import (
    DEFAULT_PRODUCTS,
    PRODUCTS,
    Cuts,
    Request,
    RequestRejected,
    SlurmOverrides,
)
from spoold.request.parse import parse_request, request_errors, validate_request_file

__all__ = [
    "Cuts",
    "DEFAULT_PRODUCTS",
    "PRODUCTS",
    "Request",
    "RequestRejected",
    "SlurmOverrides",
    "entry_problem",
    "parse_request",
    "read_request_file",
    "request_errors",
    "validate_request_file",
]
