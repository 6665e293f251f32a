"""Calls /v1/check through the client openapi-python-client generated from scopegate's
OpenAPI document (scripts/openapi_client.sh), then parses /metrics with prometheus_client's
strict OpenMetrics parser.

    openapi_client.py WORK_DIR BASE_URL SERVICE_TOKEN OWNER_TOKEN MEMBER_TOKEN METRICS_URL
"""

import importlib
import pkgutil
import sys
import urllib.request

work, base, service, owner, member, metrics_url = sys.argv[1:7]
sys.path.insert(0, work)

client_pkg = importlib.import_module("scopegate_client")
from scopegate_client import AuthenticatedClient  # noqa: E402
from scopegate_client.models import CheckRequest, Decision  # noqa: E402


def operation(name):
    """The generated module of an operation, wherever its tag put it."""
    for info in pkgutil.walk_packages(client_pkg.__path__, "scopegate_client."):
        if info.name.endswith("." + name):
            return importlib.import_module(info.name)
    raise SystemExit(f"no generated module for operation {name}")


v1_check = operation("v1_check")
client = AuthenticatedClient(base_url=base, token=service, raise_on_unexpected_status=True)


def check(token, endpoint, method):
    body = CheckRequest.from_dict({
        "principal": {"kind": "bearer", "token": token},
        "endpoint": endpoint,
        "method": method,
        "organization": "demo",
    })
    response = v1_check.sync_detailed(client=client, body=body)
    assert response.status_code == 200, (response.status_code, response.content)
    decision = response.parsed
    assert isinstance(decision, Decision), decision
    return decision


owner_decision = check(owner, "OrganizationDetailsEndpoint", "PUT")
assert owner_decision.allowed is True and owner_decision.reason == "allowed", owner_decision
member_decision = check(member, "OrganizationDetailsEndpoint", "PUT")
assert member_decision.allowed is False and member_decision.status == 403, member_decision
print(f"/v1/check through the generated client: owner {owner_decision.reason}, "
      f"member {member_decision.reason}")

# A user token may not call the decision API: the documented 403.
user_client = AuthenticatedClient(base_url=base, token=owner)
denied = v1_check.sync_detailed(client=user_client, body=CheckRequest.from_dict({
    "principal": {"kind": "anonymous"}, "endpoint": "OrganizationDetailsEndpoint",
    "method": "GET"}))
assert denied.status_code == 403, denied.status_code

from prometheus_client.openmetrics.parser import text_string_to_metric_families  # noqa: E402

with urllib.request.urlopen(metrics_url, timeout=30) as r:
    assert r.headers["Content-Type"].startswith("application/openmetrics-text"), r.headers
    text = r.read().decode()
families = {f.name: f for f in text_string_to_metric_families(text)}
v1 = sum(s.value for s in families["scopegate_decisions"].samples
         if s.name == "scopegate_decisions_total" and s.labels.get("api") == "v1")
assert v1 == 2, (v1, text)
assert families["scopegate_http_request_duration_seconds"].type == "histogram"
print(f"/metrics: {len(families)} families parsed by prometheus_client's OpenMetrics parser")
