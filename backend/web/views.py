"""Server-rendered pages: the demo shop with the widget, the agent inbox and the admin views."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from backend.auth.tokens import customer_hash

HERE = Path(__file__).parent
PAGES = HERE / "pages"
router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(PAGES / "index.html")


DEMO_SHOPPER = "demo@northwind.example"


@router.get("/demo")
async def demo_shop(request: Request) -> HTMLResponse:
    """The demo shop, signed in as its demo shopper: the server signs the email as a real host site would."""
    signature = customer_hash(DEMO_SHOPPER, request.app.state.settings.identity_secret)
    page = (PAGES / "demo.html").read_text()
    page = page.replace("{{customer_email}}", DEMO_SHOPPER).replace("{{customer_hash}}", signature)
    return HTMLResponse(page)


@router.get("/inbox")
async def inbox() -> FileResponse:
    return FileResponse(PAGES / "inbox.html")


@router.get("/admin")
async def admin() -> FileResponse:
    return FileResponse(PAGES / "admin.html")


@router.get("/admin/models")
async def models() -> FileResponse:
    return FileResponse(PAGES / "models.html")


@router.get("/admin/audit")
async def audit() -> FileResponse:
    return FileResponse(PAGES / "audit.html")


@router.get("/admin/automation")
async def automation() -> FileResponse:
    """Automation rules: the rule form, dry-run, enable, versions and rollback, the exception queue."""
    return FileResponse(PAGES / "automation.html")


@router.get("/admin/dashboard")
async def dashboard() -> FileResponse:
    return FileResponse(PAGES / "dashboard.html")


@router.get("/admin/experiments")
async def experiments() -> FileResponse:
    """Experiments: create with a power calculation, start, stop, and read results with intervals."""
    return FileResponse(PAGES / "experiments.html")


@router.get("/admin/review")
async def review() -> FileResponse:
    """The supervisors' daily review queue of sampled automated decisions."""
    return FileResponse(PAGES / "review.html")
