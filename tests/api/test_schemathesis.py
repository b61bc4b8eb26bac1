"""The whole OpenAPI spec, fuzzed: no input yields a server error or breaks the schema.

Every built-in check runs but one: "schema-valid data is accepted" cannot hold for rules a
schema cannot say (a member needs a phone, an e-mail or a card; a SKU must exist), which
the API rightly refuses with a 4xx naming the field.
"""

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import make_api
from tests.conftest import Database

EXAMPLES_PER_OPERATION = 25


def test_no_input_breaks_the_api(database: Database, tmp_path: Path) -> None:
    api = make_api(database, tmp_path, failed_auth_per_minute=10**6, rate_limit_per_minute=10**6)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=api.as_("admin"), excluded_checks=[positive_data_acceptance]
            )

        check()
        tested.append(operation.label)
    assert len(tested) >= 30
