"""Official documents to download, and attachments to upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Annotated, BinaryIO

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import IDENTIFIER, CaseNo, Contracts, Fairs, ItemId, LotNo, Service, UserId
from api.errors import errors
from service import views
from service.common import ServiceError
from service.documents import document_file
from store.files import ATTACHMENT_TYPES, CHUNK, PREVIEWS
from store.models import AttachmentRecord

router = APIRouter()


@router.post(
    "/api/attachments", tags=["申请人"],
    summary="上传附件（PDF、OFD、JPEG、PNG、docx、xlsx，不超过20MB），返回 SHA-256 供材料引用",
    description="以 multipart/form-data 上传，字段名 file。类型按文件内容判断，与文件名和声明的类型无关。"
    "返回的 SHA-256 只能由上传者本人在自己的申请、报告中引用。",
    responses=errors(400, 403, 413, 422),
)
async def upload(service: Service, user: UserId, file: Annotated[UploadFile, File(description="附件文件")]) -> views.AttachmentView:
    actor = service.actor(user)
    # The multipart parser has already spooled the body to a temporary file (1 MB in memory at most,
    # the request's size refused while it was read); copy it on to the store in chunks off the event loop.
    return await run_in_threadpool(service.save_attachment, actor, file.filename or "附件", chunks(file.file))


def chunks(source: BinaryIO) -> Iterator[bytes]:
    source.seek(0)
    while chunk := source.read(CHUNK):
        yield chunk


@router.get(
    "/api/documents/{document_id}.{extension}", tags=["文书"], summary="下载文书（pdf 或 html）",
    responses={**errors(403, 404, 422), 200: {"content": {"application/pdf": {}, "text/html": {}}, "description": "文书"}},
    response_class=FileResponse,
)
async def document(
    document_id: Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER, description="文书编号")],
    extension: Annotated[str, Path(min_length=1, max_length=8, pattern=r"^[a-z]+$", description="pdf 或 html")],
    service: Service, fairs: Fairs, contracts: Contracts, user: UserId,
) -> FileResponse:
    if extension not in ("pdf", "html"):
        raise ServiceError("not_found", "文书格式只有 pdf 和 html")
    actor = service.actor(user) if user else None
    path, filename = document_file(service, fairs, contracts, actor, document_id, extension)
    media = "application/pdf" if extension == "pdf" else "text/html; charset=utf-8"
    return FileResponse(path, media_type=media, filename=filename)


MATERIAL_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'",
    "Cache-Control": "private, no-store",
}
"""A material is shown as the type its content was sniffed as, never guessed again by the browser, and
nothing in it may run script or load anything (only this site may frame it)."""

Sha256 = Annotated[str, Path(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", description="文件的 SHA-256")]
STORED_FILE = {200: {"content": {t: {} for t in ATTACHMENT_TYPES}, "description": "上传的原文件"}}


def stored_file(path: FsPath, record: AttachmentRecord) -> FileResponse:
    """An uploaded file as the type sniffed at upload: shown by the browser if it displays that type by
    itself (PDF, images), downloaded otherwise, under a safe name and headers that stop it running anything."""
    return FileResponse(
        path, media_type=record.content_type, filename=safe_filename(record.filename),
        content_disposition_type="inline" if record.content_type in PREVIEWS else "attachment", headers=MATERIAL_HEADERS,
    )


@router.get(
    "/api/cases/{case_no}/attachments/{sha256}", tags=["申请人", "工作人员"], summary="查看案件的申请材料（原文件）",
    description="只有申请人本人和案件所在辖区的工作人员可以查看；PDF 和图片在浏览器中直接显示，其他类型下载。",
    responses={**errors(401, 404, 422), **STORED_FILE},
    response_class=FileResponse,
)
async def material(
    case_no: CaseNo,
    sha256: Sha256,
    service: Service, user: UserId,
) -> FileResponse:
    path, record = service.material_file(service.actor(user), case_no, sha256)
    return stored_file(path, record)


@router.get(
    "/api/lots/{lot_no}/bids/{bid_id}/attachments/{sha256}", tags=["投标人", "评审专家", "社洽会"],
    summary="查看投标附件（原文件）",
    description="只有投标人本人、组织单位和评审期间的评审专家可以查看；PDF 和图片在浏览器中直接显示，其他类型下载。",
    responses={**errors(404, 422), **STORED_FILE},
    response_class=FileResponse,
)
async def bid_attachment(
    lot_no: LotNo, bid_id: ItemId,
    sha256: Sha256,
    fairs: Fairs, user: UserId,
) -> FileResponse:
    path, record = fairs.bid_file(fairs.actor(user) if user else None, lot_no, bid_id, sha256)
    return stored_file(path, record)


def safe_filename(name: str) -> str:
    """The uploaded name without path parts or control characters (the header encodes the rest)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>:|?*').strip(" .")
    return cleaned[:100] or "材料"
