"""好差评: once a 备案/登记 case has ended, its applicant rates the service once, against the office that
last handled it; staff see the aggregate of the offices in their jurisdiction and below. The workflow has
ended, so the rating lives in the read model only (``RatingRecord``), never in a workflow history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from schemas.application import Track
from schemas.case import CaseState
from schemas.localtime import date_in_words, local_date
from schemas.people import Actor
from schemas.ratings import BAD_SCORES, SCORES, OfficeRatings, RatingComment, RatingInput, RatingsView, RatingView
from service.cases import CaseService
from service.common import ServiceError, paged
from store.db import session_scope
from store.models import RatingRecord


class RatingService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.engine = cases.engine

    def rating(self, actor: Actor, case_no: str) -> RatingView | None:
        """The case's rating, for whoever may see the case (another's case is not found)."""
        self.cases.readable_state(actor, case_no)
        with Session(self.engine) as db:
            record = db.exec(select(RatingRecord).where(RatingRecord.case_no == case_no)).first()
        return _view(record) if record else None

    def rate(self, actor: Actor, case_no: str, rating: RatingInput) -> RatingView:
        state = self.cases.readable_state(actor, case_no)
        if state.applicant.user_id != actor.user_id:
            raise ServiceError("forbidden", "只有本案的申请人可以评价办理服务")
        if not state.phase.terminal:
            raise ServiceError(
                "conflict", f"案件办结后才能评价：本案现在是“{state.phase_applicant_name}”，请在办理结束后再来评价"
            )
        comment = rating.comment or None
        if rating.score in BAD_SCORES and not comment:
            raise ServiceError("invalid", f"您选择了“{SCORES[rating.score]}”，请在评价内容中写明原因，以便我们改进")
        record = _record(state, actor, rating.score, comment)
        try:
            with session_scope(self.engine) as db:
                db.add(record)
                db.flush()
                return _view(record)
        except IntegrityError:
            pass
        with Session(self.engine) as db:
            earlier = db.exec(select(RatingRecord).where(RatingRecord.case_no == case_no)).one()
        raise ServiceError(
            "conflict", f"本案已于{date_in_words(local_date(earlier.rated_at))}评价过，每个案件只能评价一次"
        )

    def aggregate(self, actor: Actor, limit: int, offset: int) -> RatingsView:
        """Per office in the caller's jurisdiction and below: count, average, each score's count and the
        share of 差评; then the latest comments, newest first."""
        self.cases.require_staff(actor)
        mine = col(RatingRecord.jurisdiction_path).contains(f"/{actor.jurisdiction}/")
        scores = [func.sum(case((RatingRecord.score == s, 1), else_=0)) for s in SCORES]
        office = (RatingRecord.office_name, RatingRecord.jurisdiction, RatingRecord.jurisdiction_name)
        query = (
            select(*office, func.count(), func.avg(RatingRecord.score), *scores)
            .where(mine)
            .group_by(*office)
            .order_by(RatingRecord.jurisdiction, RatingRecord.office_name)
        )
        commented = (
            select(RatingRecord)
            .where(mine, col(RatingRecord.comment).is_not(None))
            .order_by(col(RatingRecord.rated_at).desc(), col(RatingRecord.id).desc())
        )
        with Session(self.engine) as db:
            rows = db.exec(query).all()
            records, total = paged(db, commented, limit, offset)
        offices = []
        for name, jurisdiction, jurisdiction_name, count, average, *per_score in rows:
            counts = dict(zip(SCORES, (int(n) for n in per_score), strict=True))
            offices.append(
                OfficeRatings(
                    office_name=name,
                    jurisdiction=jurisdiction,
                    jurisdiction_name=jurisdiction_name,
                    count=count,
                    average=round(float(average), 1),
                    per_score=counts,
                    bad_share=sum(counts[s] for s in BAD_SCORES) / count,
                )
            )
        comments = [
            RatingComment(
                case_no=r.case_no,
                office_name=r.office_name,
                score=r.score,
                score_name=SCORES[r.score],
                comment=r.comment or "",
                rated_at=r.rated_at,
            )
            for r in records
        ]
        return RatingsView(offices=offices, comments=comments, comments_total=total, limit=limit, offset=offset)


def _record(state: CaseState, actor: Actor, score: int, comment: str | None) -> RatingRecord:
    """The rating against the office that last handled the case: the one that decided it, or held it when
    it was withdrawn or lapsed; the registration authority when no task was ever opened."""
    office = state.tasks[-1].office if state.tasks else state.authority
    if office is None or state.locality is None:
        raise ServiceError("conflict", "本案没有经过办理单位办理，无法评价")
    codes = [j.code for j in state.locality.chain]
    above = codes[codes.index(office.jurisdiction) :] if office.jurisdiction in codes else [office.jurisdiction]
    return RatingRecord(
        case_no=state.case_no,
        track=state.application.track.value,
        outcome=state.phase.value,
        applicant_id=actor.user_id,
        applicant_name=actor.name,
        score=score,
        comment=comment,
        office_name=office.name,
        office_role=office.role.value,
        jurisdiction=office.jurisdiction,
        jurisdiction_name=office.jurisdiction_name,
        jurisdiction_path="/" + "/".join(reversed(above)) + "/",
        rated_at=datetime.now(UTC),
    )


def _view(record: RatingRecord) -> RatingView:
    return RatingView(
        case_no=record.case_no,
        track=Track(record.track).label,
        score=record.score,
        score_name=SCORES[record.score],
        comment=record.comment,
        office_name=record.office_name,
        jurisdiction=record.jurisdiction,
        rated_at=record.rated_at,
    )
