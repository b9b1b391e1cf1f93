"""The backend's pydantic models of the service API match contract/service_api.py, the dataclasses the
action server reads them with: same fields, same optional ones, and a JSON body of one reads as the other."""

import ast
import dataclasses
import sys
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from backend.cases.schemas import HandoffIn, HandoffOut
from backend.customers.schemas import OrderItem as OrderItemOut
from backend.customers.schemas import OrderOut, RecentOrderOut, RecentOrdersOut
from backend.kb.schemas import SearchHitOut, SearchOut
from backend.leads.schemas import LeadCaptureIn, LeadCaptureOut
from backend.risk.schemas import RetentionOfferOut
from backend.service_api.schemas import PersonOfferIn, PersonOfferOut
from contract import service_api as contract

PAIRS = [
    (HandoffIn, contract.HandoffRequest),
    (HandoffOut, contract.HandoffResult),
    (PersonOfferIn, contract.PersonOfferRequest),
    (PersonOfferOut, contract.PersonOfferResult),
    (OrderOut, contract.Order),
    (OrderItemOut, contract.OrderItem),
    (RecentOrdersOut, contract.RecentOrders),
    (RecentOrderOut, contract.RecentOrder),
    (SearchOut, contract.KnowledgeSearch),
    (SearchHitOut, contract.KnowledgeHit),
    (RetentionOfferOut, contract.RetentionOffer),
    (LeadCaptureIn, contract.LeadRequest),
    (LeadCaptureOut, contract.LeadResult),
]


def _optional(annotation: object) -> bool:
    return type(None) in typing.get_args(annotation) or annotation is None


# Request fields added after the first release: the action server always sends them, but the backend
# accepts them missing (as None) from an action server of the release before, during a rolling update.
ADDED_LATER = {("LeadRequest", "plan"), ("PersonOfferRequest", "embedding")}


@pytest.mark.parametrize(("model", "dataclass"), PAIRS, ids=[d.__name__ for _, d in PAIRS])
def test_each_service_model_has_the_contract_fields(model: type[BaseModel], dataclass: type) -> None:
    hints = typing.get_type_hints(dataclass)
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(dataclass)]
    for name, field in model.model_fields.items():
        assert _optional(field.annotation) == _optional(hints[name]), name
        if (dataclass.__name__, name) in ADDED_LATER:
            assert not field.is_required() and field.default is None, f"{name}: an older sender omits it"
        else:
            assert field.is_required(), f"{name}: the contract has no defaults, so every field is always sent"


HIT = SearchHitOut(
    slug="returns", title="Returns", url="/kb/returns", heading_path=["Returns"], snippet="30 days",
    score=0.03, dense_score=None, bm25_score=7.5, confidence=0.9, answerable=True,
)  # fmt: skip
ORDER = OrderOut(
    order_id="ORD-100001", status="shipped", carrier="UPS", tracking_number=None,
    estimated_delivery=date(2026, 11, 6), placed_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
    total=Decimal("89.90"), currency="USD", items=[OrderItemOut(product="Headlamp 400", quantity=2)],
)  # fmt: skip
RECENT = RecentOrderOut(order_id="ORD-100001", status="shipped", placed_at=ORDER.placed_at)
BODIES = [
    (HandoffOut(case_id=7, message=contract.HANDOFF_MESSAGE), contract.HandoffResult),
    (PersonOfferOut(handed_over=True, case_id=7, message="x"), contract.PersonOfferResult),
    (PersonOfferOut(handed_over=False, case_id=None, message=None), contract.PersonOfferResult),
    (SearchOut(query="returns", threshold=0.5, answerable=True, results=[HIT]), contract.KnowledgeSearch),
    (RetentionOfferOut(offer=None, churn_risk=0.2, threshold=0.6), contract.RetentionOffer),
    (ORDER, contract.Order),
    (RecentOrdersOut(orders=[RECENT]), contract.RecentOrders),
    (RecentOrdersOut(orders=[]), contract.RecentOrders),
    (LeadCaptureOut(lead_id=3, created=True, score=0.62, routed=True, message="x"), contract.LeadResult),
    (LeadCaptureOut(lead_id=3, created=False, score=0.1, routed=False, message=None), contract.LeadResult),
    (  # a plan change that is no upgrade: no lead
        LeadCaptureOut(lead_id=None, created=False, score=None, routed=False, message=None),
        contract.LeadResult,
    ),
]


@pytest.mark.parametrize(("model", "dataclass"), BODIES, ids=[d.__name__ for _, d in BODIES])
def test_a_json_body_of_each_model_reads_as_the_contract_and_back(model: BaseModel, dataclass: type) -> None:
    read = dataclass.from_json(model.model_dump(mode="json"))
    assert dataclass.from_json(read.to_json()) == read
    # What the backend sends validates as its own model again (the contract writes nothing it would refuse).
    assert type(model).model_validate(read.to_json()) == model


def test_an_order_reads_as_typed_values() -> None:
    order = contract.Order.from_json(ORDER.model_dump(mode="json"))
    assert order.total == Decimal("89.90") and order.placed_at == ORDER.placed_at
    assert order.estimated_delivery == date(2026, 11, 6)
    assert order.items == (contract.OrderItem("Headlamp 400", 2),)


def test_a_body_that_breaks_the_contract_is_refused() -> None:
    for body in ({"case_id": "7", "message": "x"}, {"case_id": 7}, [], {"case_id": True, "message": "x"}):
        with pytest.raises(contract.ContractError):
            contract.HandoffResult.from_json(body)


def test_the_contract_imports_only_the_standard_library() -> None:
    # The action server's venv (Python 3.10, Rasa's pydantic 1) imports it too.
    tree = ast.parse(Path(contract.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} <= sys.stdlib_module_names | {"__future__"}, imported
    assert isinstance(contract.SKILL_BY_INTENT, types.MappingProxyType)  # shared, so nobody may change it
