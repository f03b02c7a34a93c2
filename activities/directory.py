"""Directory lookups: where a community sits and who holds an AB岗 post. Answers may change over
time, so they are activities and their results are recorded in history."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas.people import Level, Locality, Post, PostRequest
from store import directory


class DirectoryActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="locate_community")
    def locate_community(self, community: str) -> Locality:
        found = directory.locality(self.engine, community)
        if found is None or found.community.level is not Level.community:
            raise ApplicationError(f"社区代码 {community} 不存在", type="unknown_community", non_retryable=True)
        return found

    @activity.defn(name="assign_post")
    def assign_post(self, request: PostRequest) -> Post:
        """A post that is not staffed yet is retried until an administrator fills it in the directory."""
        found = directory.post(self.engine, request.role, request.jurisdiction, request.office)
        if found is None:
            raise ApplicationError(
                f"{request.jurisdiction} {request.office}的{request.role.label}岗位尚未配置A岗/B岗人员，请管理员更新人员名录",
                type="post_not_staffed",
            )
        return found
