"""Analytics API for supervisors and admins: window summaries, chart series, anomalies, customer segments."""

import asyncio
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from backend.analytics import segments
from backend.analytics.schemas import AnomalyOut, SegmentsOut, SeriesOut, SummaryOut
from backend.analytics.service import SERIES, AnalyticsService
from backend.auth.dependencies import SupervisorDep
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Window = Annotated[Literal["1h", "24h", "7d"], Query(description="The sliding window: 1h, 24h or 7d.")]


def _service(request: Request) -> AnalyticsService:
    return request.app.state.analytics


@router.get("/summary", response_model=SummaryOut)
async def summary(request: Request, _: SupervisorDep, window: Window = "24h") -> SummaryOut:
    """Every figure of one sliding window, from the incrementally kept window totals."""
    figures = _service(request).summary(window)
    return SummaryOut(window=window, as_of=utcnow(), **figures)


@router.get("/series", response_model=SeriesOut)
async def series(request: Request, _: SupervisorDep, window: Window = "24h") -> SeriesOut:
    """The window as chart points: 5-minute points for 1h, hourly for 24h, 6-hourly for 7d."""
    points = _service(request).series(window)
    return SeriesOut(window=window, minutes_per_point=SERIES[window][0], points=points)


@router.get("/anomalies", response_model=list[AnomalyOut])
async def anomalies(request: Request, _: SupervisorDep) -> list[AnomalyOut]:
    """The last hour's figures that deviate from their 7-day baseline (|z| >= 3, analytics/anomalies.py)."""
    return [AnomalyOut(**asdict(a), description=a.description) for a in _service(request).anomalies()]


@router.get("/segments", response_model=SegmentsOut)
async def customer_segments(session: SessionDep, request: Request, _: SupervisorDep) -> SegmentsOut:
    """Customer segments by behaviour (K-Means, k by silhouette) with each segment's churn rate."""
    X, churn, source = await segments.load(session, utcnow(), request.app.state.settings)
    # K-Means is CPU work: off the event loop so other requests go on meanwhile.
    result = await asyncio.to_thread(segments.segment, X, churn, source)
    return SegmentsOut.model_validate(asdict(result))
