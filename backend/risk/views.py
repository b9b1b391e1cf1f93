"""Routes of the risk domain: the model registry (list, get, promote, rollback, drift) and churn risk.

Staff may read; promoting and rolling back models changes what every conversation is scored with, so it
needs the admin role.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.auth.dependencies import AdminDep, current_staff
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.params import Offset, RecordId
from backend.risk import challenger, registry, service
from backend.risk.schemas import (
    ChallengerOut,
    ChurnRiskOut,
    DriftOut,
    FairnessOut,
    ModelKind,
    ModelVersionOut,
    PromoteIn,
    PromotionOut,
    RollbackIn,
)

router = APIRouter(tags=["risk"], dependencies=[Depends(current_staff)])


NO_MODEL = error_response(503, "No production model (or its artifact) yet; the detail says what to run.")
REFUSED = error_response(
    409,
    "Refused: the candidate does not beat production, its fairness audit is flagged (without an override), a "
    "challenger lacks a measured lift on logged outcomes, or nothing to roll back.",
)


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
    version_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    body: PromoteIn | None = None,
) -> PromotionOut:
    """Make this version production if it passes the gates (409 with the reason if not): its fairness audit
    (an admin may override a flag with a reason, audited), its hold-out ROC-AUC against production, and for a
    challenger a lift on logged outcomes whose 95 % interval lies above 0."""
    try:
        version = await registry.get(session, version_id)
        check = None
        if version.status == challenger.STATUS:
            check = await challenger.lift(session, version.kind, settings)
        version, comparison = await registry.promote(
            session,
            version_id,
            settings.risk_model_dir,
            settings.promotion_min_auc_gain,
            admin.email,
            fairness_override=body.fairness_override if body else None,
            challenger_check=check,
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


@router.post(
    "/api/v1/models/{version_id}/fairness", response_model=ModelVersionOut, responses={**REFUSED, **NO_MODEL}
)
async def reaudit_model(
    version_id: RecordId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> ModelVersionOut:
    """Recompute this version's fairness audit on its hold-out under today's thresholds and bound."""
    try:
        version = await registry.reaudit(session, version_id, settings.risk_model_dir, admin.email)
    except registry.RegistryError as exc:
        raise _http(exc) from exc
    return ModelVersionOut.model_validate(version)


@router.get(
    "/api/v1/models/fairness/logged",
    response_model=FairnessOut,
    responses={409: {"description": "No served score of this kind to audit yet."}},
)
async def logged_fairness(
    session: SessionDep, settings: SettingsDep, kind: Literal["churn", "escalation"] = "escalation"
) -> FairnessOut:
    """The fairness audit on served scores and what happened afterwards (backend/risk/fairness.py)."""
    from backend.risk import fairness

    threshold = getattr(settings, registry.FAIRNESS_THRESHOLDS[kind])
    try:
        report = await fairness.logged_audit(
            session,
            kind,
            threshold,
            settings.fairness_max_gap,
            settings.fairness_min_group,
            utcnow(),
            gated_metrics=settings.gated_fairness_metrics,
        )
    except fairness.NothingToAudit as exc:
        detail = f"nothing to audit: {exc}; the audit needs at least one served score and what followed it"
        raise HTTPException(status.HTTP_409_CONFLICT, detail) from exc
    return FairnessOut(kind=kind, report=report)


@router.get("/api/v1/models/challenger/status", response_model=ChallengerOut)
async def challenger_status(
    session: SessionDep, settings: SettingsDep, kind: Literal["churn", "escalation"] = "escalation"
) -> ChallengerOut:
    """Champion and challenger of a kind with the challenger's measured lift on logged outcomes."""
    champion, rival = await registry.production(session, kind), await challenger.current(session, kind)
    brief = lambda v: None if v is None else {"id": v.id, "version": v.version}  # noqa: E731
    lift = await challenger.lift(session, kind, settings) if rival is not None else None
    return ChallengerOut(
        kind=kind,
        champion=brief(champion),
        challenger=brief(rival),
        slice=settings.challenger_slice,
        lift=lift,
    )


@router.post("/api/v1/models/{version_id}/challenger", response_model=ModelVersionOut, responses=REFUSED)
async def start_challenger(version_id: RecordId, session: SessionDep, admin: AdminDep) -> ModelVersionOut:
    """Run this candidate beside the champion: shadow scoring (or the configured slice), logged per turn."""
    try:
        return ModelVersionOut.model_validate(await challenger.start(session, version_id, admin.email))
    except registry.RegistryError as exc:
        raise _http(exc) from exc


@router.post("/api/v1/models/challenger/stop", response_model=ModelVersionOut, responses=REFUSED)
async def stop_challenger(body: RollbackIn, session: SessionDep, admin: AdminDep) -> ModelVersionOut:
    """Stop the challenger of this kind (it becomes a candidate again)."""
    try:
        return ModelVersionOut.model_validate(await challenger.stop(session, body.kind, admin.email))
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
