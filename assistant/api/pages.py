"""The web pages: chat at /, search at /search, upload at /upload; assets under /static."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
PAGES = {"/": "index.html", "/search": "search.html", "/upload": "upload.html"}


def mount_pages(app: FastAPI, web_dir: Path = WEB_DIR) -> None:
    """Serve the static pages when the web folder is there (an API-only install has none)."""
    if not web_dir.is_dir():
        return
    for route, name in PAGES.items():
        app.add_api_route(route, _page(web_dir / name), include_in_schema=False,
                          response_class=FileResponse)
    app.mount("/static", StaticFiles(directory=web_dir), name="static")


def mount_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the assets of the pinned swagger-ui-bundle package, so the API
    reference works offline (FastAPI's default page loads them from a CDN)."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="docs-assets")

    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png")

    app.add_api_route("/docs", docs, include_in_schema=False, response_class=HTMLResponse)


def _page(path: Path):  # type: ignore[no-untyped-def]
    def page() -> FileResponse:
        return FileResponse(path, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})
    return page
