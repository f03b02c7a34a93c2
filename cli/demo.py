"""``shezu demo``: one green-channel filing from submission to certificate and one refused
registration, driven through the HTTP API as applicants and reviewers would, checking each step.

The public notice lasts working days; the demo fast-forwards that one case's clock on the dev
server (per-workflow time skipping, enabled by ``shezu up``), so its documents carry those dates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.service import RPCError
from temporalio.testing import TimeSkipper

from cli.system import running_system
from service.connection import connect_temporal
from settings import PROJECT_ROOT, Settings


def example(name: str) -> dict[str, Any]:
    """The README's example applications are the demo's too."""
    return json.loads((PROJECT_ROOT / "examples" / f"{name}.json").read_text(encoding="utf-8"))


class Unexpected(Exception):
    """The system did something other than what the demo expects."""


class Demo:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self.step = 0
        self.stamp = time.strftime("%m%d%H%M%S")

    def say(self, text: str) -> None:
        self.step += 1
        print(f"[{self.step:02d}] {text}", flush=True)

    async def call(self, method: str, path: str, user: str | None, expect: int, body: Any = None) -> Any:
        headers = {"X-User-Id": user} if user else {}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code != expect:
            raise Unexpected(f"{method} {path} 返回 {response.status_code}（预期 {expect}）：{response.text}")
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise Unexpected(what)

    async def case(self, case_no: str, user: str) -> dict[str, Any]:
        return await self.call("GET", f"/api/cases/{case_no}", user, 200)

    async def decide(self, case_no: str, user: str, step: str, outcome: str, reasons: list[str] | None = None) -> dict[str, Any]:
        body = {"step": step, "outcome": outcome, "reasons": reasons or []}
        return await self.call("POST", f"/api/cases/{case_no}/decisions", user, 200, body)

    async def refused(self, case_no: str, user: str, step: str, outcome: str, status: int) -> str:
        body = {"step": step, "outcome": outcome, "reasons": []}
        answer = await self.call("POST", f"/api/cases/{case_no}/decisions", user, status, body)
        return answer["message"]

    async def document(self, view: dict[str, Any], kind: str, user: str) -> str:
        found = [d for d in view["documents"] if d["kind"] == kind]
        self.check(len(found) == 1, f"应有一份 {kind} 文书，实际 {[d['title'] for d in view['documents']]}")
        response = await self.call("GET", found[0]["pdf_url"], user, 200)
        self.check(response.content.startswith(b"%PDF"), f"{found[0]['title']} 不是 PDF")
        target = self.settings.data_dir / "demo" / f"{found[0]['document_id']}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.content)
        return f"{found[0]['title']}（{found[0]['number']}）已生成：{target}"

    async def until_phase(self, case_no: str, user: str, phase: str, seconds: float = 60) -> dict[str, Any]:
        give_up = time.monotonic() + seconds
        while True:
            view = await self.case(case_no, user)
            if view["phase"] == phase:
                return view
            if time.monotonic() > give_up:
                raise Unexpected(f"{case_no} 未进入 {phase}，当前 {view['phase_name']}")
            await asyncio.sleep(0.3)

    async def fast_forward_public_notice(self, case_no: str, view: dict[str, Any]) -> None:
        client = await connect_temporal(self.settings)
        skipper = TimeSkipper(client)
        handle = client.get_workflow_handle(case_no)
        ends = datetime.fromisoformat(view["next_deadline"]["due_at"])
        now = await skipper.get_current_time(handle)
        try:
            await skipper.fast_forward(handle, max(ends - now, timedelta(0)) + timedelta(minutes=1))
        except RPCError as error:
            raise Unexpected(
                f"Temporal 服务未启用按流程时间快进（{error.message}）；演示需要由 ./scripts/up 启动的开发服务器"
            ) from error

    async def green_channel_filing(self) -> None:
        applicant = f"demo-applicant-{self.stamp}"
        application = example("filing")
        application["organization_name"] += f"（演示{self.stamp}）"
        application["materials"] = [m for m in application["materials"] if m["material"] != "member_list"]
        print("\n=== 一、绿色通道备案：春光社区舞蹈队（从提交到发证）===")
        receipt = await self.call("POST", "/api/cases", applicant, 201, application)
        case_no = receipt["case_no"]
        self.check(receipt["phase"] == "correction", f"缺少会员名册应要求补正，实际 {receipt['phase_name']}")
        self.say(f"王芳提交备案申请，案号 {case_no}；形式审查发现缺少材料，一次性告知：{'；'.join(receipt['missing'])}")
        view = await self.case(case_no, applicant)
        waived = [m["explanation"] for m in view["checklist"]["materials"] if m["status"] == "waived"]
        self.check(any("王芳" in w for w in waived), "户籍在本社区的王芳应免交身份证明")
        self.say("绿色通道免交：" + "；".join(waived))
        self.say(await self.document(view, "correction_notice", applicant))

        answer = await self.call(
            "POST", f"/api/cases/{case_no}/correction", applicant, 200, {"materials": [{"material": "member_list"}]}
        )
        self.check(answer["phase"] == "preliminary_review", f"补正后应受理并进入初审，实际 {answer['phase_applicant_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"补正会员名册后受理，法定办结期限 {view['legal_deadline']['due_date']}；{await self.document(view, 'acceptance_notice', applicant)}")

        inbox = await self.call("GET", "/api/tasks", "cg-zhao", 200)
        self.check(any(t["case_no"] == case_no for t in inbox), "居委会赵丽的待办中应有本案")
        message = await self.refused(case_no, "cg-zhao", "authority_review", "approve", 409)
        self.say(f"居委会赵丽试图越过初审直接办理街道审核，被拒绝：{message}")
        await self.decide(case_no, "cg-zhao", "preliminary_review", "approve")
        self.say("社区居委会A岗赵丽初审同意")
        message = await self.refused(case_no, "hn-zheng", "authority_review", "approve", 403)
        self.say(f"河南街道郑红试图办理建工街道的案件，被拒绝：{message}")
        answer = await self.decide(case_no, "jg-zhou", "authority_review", "approve")
        self.check(answer["phase"] == "public_notice", f"审核同意后应进入公示，实际 {answer['phase_applicant_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"建工街道办事处A岗周静审核同意，进入公示，公示至 {view['public_notice_until']}；{await self.document(view, 'public_notice', applicant)}")

        self.say("（演示）快进本案时钟至公示期满")
        await self.fast_forward_public_notice(case_no, view)
        await self.until_phase(case_no, applicant, "decision")
        answer = await self.decide(case_no, "jg-zhou", "decision", "approve")
        self.check(answer["phase"] == "approved", f"应准予备案，实际 {answer['phase_applicant_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"公示期满无异议，周静作出准予备案决定，证书编号 {view['certificate_number']}；{await self.document(view, 'certificate', applicant)}")

    async def refused_registration(self) -> None:
        applicant = f"demo-applicant-{self.stamp}-2"
        application = example("association-ordinary")
        application["organization_name"] += f"（演示{self.stamp}）"
        print("\n=== 二、社会团体登记：民安书画协会（民政局不予登记）===")
        receipt = await self.call("POST", "/api/cases", applicant, 201, application)
        case_no = receipt["case_no"]
        self.check(receipt["phase"] == "preliminary_review", f"材料齐全应受理，实际 {receipt['phase_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"张伟提交社会团体登记申请，案号 {case_no}，按一般规定办理（非社区社会组织），材料齐全已受理")
        self.check(view["checklist"]["fees_due_fen"] > 0, "不适用绿色通道时应缴纳费用")
        await self.decide(case_no, "ma-sun", "preliminary_review", "approve")
        self.say("民安社区居委会A岗孙梅初审同意")
        message = await self.refused(case_no, "mz-chen", "authority_review", "refuse", 422)
        self.say(f"民政局陈洁不写理由作出不予登记，被拒绝：{message}")
        reasons = ["申请单位会员中有32人同时为另一书画类社会团体会员，业务范围与已登记的延吉市书画家协会重复"]
        answer = await self.decide(case_no, "mz-chen", "authority_review", "refuse", reasons)
        self.check(answer["phase"] == "refused", f"应不予登记，实际 {answer['phase_applicant_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"民政局陈洁作出不予登记决定，理由：{reasons[0]}；{await self.document(view, 'refusal_decision', applicant)}")


async def _run(settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=120) as http:
        demo = Demo(settings, http)
        await demo.green_channel_filing()
        await demo.refused_registration()


def _api_up(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.api_url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _system(settings: Settings) -> Iterator[None]:
    if _api_up(settings):
        yield
        return
    print(f"系统未在运行，演示期间临时启动（数据保存在 {settings.data_dir}）……", flush=True)
    with running_system(settings, quiet=True):
        yield


def run_demo(settings: Settings) -> int:
    with _system(settings):
        try:
            asyncio.run(_run(settings))
        except Unexpected as error:
            print(f"\n演示失败：与预期不符 —— {error}", flush=True)
            return 1
    print("\n演示完成：两件案件均按预期办结。", flush=True)
    return 0
