"""Routes of the risk domain: the model registry (list, get, promote, rollback, drift) and churn risk.

Staff may read; promoting and rolling back models changes what every conversation is scored with, so it
needs the admin role.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.auth.dependencies import AdminDep, SettingsDep, current_staff
from backend.core.dependencies import SessionDep
from backend.core.errors import error_response
from backend.core.params import Offset, RecordId
from backend.risk import registry, service
from backend.risk.schemas import (
    ChurnRiskOut,
    DriftOut,
    ModelKind,
    ModelVersionOut,
    PromotionOut,
    RollbackIn,
)

router = APIRouter(tags=["risk"], dependencies=[Depends(current_staff)])


NO_MODEL = error_response(503, "No production model (or its artifact) yet; the detail says what to run.")
REFUSED = error_response(409, "Refused: the candidate does not beat production, or nothing to roll back.")


def _http(exc: registry.RegistryError) -> HTTPException:
    if isinstance(exc, registry.VersionNotFound | service.SubjectNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, service.NotApplicable):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    if isinstance(exc, service.NoProductionModel | registry.ArtifactMissing):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))  # refused promotion, nothing to roll back


@router.get("/api/v1/models", response_model=list[ModelVersionOut])
async def list_models(
    session: SessionDep,
    kind: ModelKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[ModelVersionOut]:
    versions = await registry.list_versions(session, kind, limit, offset)
    return [ModelVersionOut.model_validate(v) for v in versions]


@router.get("/api/v1/models/{version_id}", response_model=ModelVersionOut)
async def get_model(version_id: RecordId, session: SessionDep) -> ModelVersionOut:
    try:
        return ModelVersionOut.model_validate(await registry.get(session, version_id))
    except registry.RegistryError as exc:
        raise _http(exc) from exc


@router.post(
    "/api/v1/models/{version_id}/promote", response_model=PromotionOut, responses={**REFUSED, **NO_MODEL}
)
async def promote_model(
    version_id: RecordId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> PromotionOut:
    """Make this version production if it beats production on its hold-out (409 with the reason if not)."""
    try:
        version, comparison = await registry.promote(
            session, version_id, settings.risk_model_dir, settings.promotion_min_auc_gain, admin.email
        )
    except registry.RegistryError as exc:
        raise _http(exc) from exc
    return PromotionOut(version=ModelVersionOut.model_validate(version), comparison=comparison)


@router.post("/api/v1/models/rollback", response_model=ModelVersionOut, responses=REFUSED)
async def rollback_model(body: RollbackIn, session: SessionDep, admin: AdminDep) -> ModelVersionOut:
    """Retire the production version of this kind and restore the one it replaced."""
    try:
        return ModelVersionOut.model_validate(await registry.rollback(session, body.kind, admin.email))
    except registry.RegistryError as exc:
        raise _http(exc) from exc


@router.get("/api/v1/models/{version_id}/drift", response_model=DriftOut, responses=NO_MODEL)
async def model_drift(
    version_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    source: Literal["scores", "population"] = "scores",
    window: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> DriftOut:
    """PSI of each feature and of the score against the training bins stored with this version.

    source=scores: the latest `window` scores this version served; source=population: today's active
    customers scored now (churn models only).
    """
    try:
        return DriftOut.model_validate(
            await service.drift_report(session, version_id, settings, source, window)
        )
    except registry.RegistryError as exc:
        raise _http(exc) from exc


@router.get("/api/v1/customers/{customer_id}/churn-risk", response_model=ChurnRiskOut, responses=NO_MODEL)
async def churn_risk(customer_id: RecordId, session: SessionDep, settings: SettingsDep) -> ChurnRiskOut:
    """The customer's churn probability with reason codes; every call is stored with its model version."""
    try:
        risk = await service.score_customer(session, customer_id, settings)
    except registry.RegistryError as exc:
        raise _http(exc) from exc
    return ChurnRiskOut.model_validate(risk)
