"""电子证照 核验 for anyone, on a phone as on a desk: the code from a document (typed, or from its QR code)
shows the document's issuer, number, holder, dates and standing, and a file can be checked against it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.deps import Who
from api.routes.verify import VerificationCode, Verifications, client_address
from pages.common import Form, back_to, render
from service.common import ServiceError
from store.verification_codes import normalized

router = APIRouter()

CHUNK = 64 * 1024


@router.get("/verify")
async def enter_code(request: Request, who: Who, code: str = "") -> Response:
    """The form to type a code; a typed code goes to its own address, which the QR code also leads to."""
    if code.strip():
        return back_to(f"/verify/{normalized(code) or 'unknown'}")
    return render(request, "verify.html", who, found=None)


@router.get("/verify/{code}")
async def verified(request: Request, who: Who, verifications: Verifications, code: VerificationCode) -> Response:
    return _result(request, who, verifications, code)


@router.post("/verify/{code}")
async def check_file(
    request: Request, form: Form, who: Who, verifications: Verifications, code: VerificationCode
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _result(request, who, verifications, code, problem=ServiceError("invalid", "请选择要核对的文件后再提交"))
    try:
        check = verifications.check_file(code, iter(lambda: upload.file.read(CHUNK), b""), client_address(request))
    except ServiceError as problem:
        if problem.kind == "too_many":
            raise
        return _result(request, who, verifications, code, problem=problem)
    return _result(request, who, verifications, code, check=check, filename=(upload.filename or "")[:80])


def _result(request: Request, who: Who, verifications: Verifications, code: str, **context: object) -> Response:
    """The code's document; a code not found is said on the form, to type it again."""
    try:
        found = verifications.verify(code, client_address(request))
    except ServiceError as problem:
        if problem.kind != "not_found":
            raise
        return render(request, "verify.html", who, status_code=404, found=None, problem=problem)
    status = 422 if "problem" in context else 200
    return render(request, "verify.html", who, status_code=status, found=found, **context)
