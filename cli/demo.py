"""``shezu demo``: one green-channel filing from submission to certificate, one refused
registration, and a 社洽会 with two lots (one awarded after a 质疑, one 流标), driven through the
HTTP API as applicants, reviewers, departments, bidders and experts would, each signed in with the
development system's demo account (new applicants get one from the administrator), checking each step;
then, as an auditor, an audit bundle of the fair verified offline and its OCDS package; last, incubation: a
group that enters a base, files during its term and graduates, and a base that fills and serves its waiting list.

Deadlines run in working days; the demo fast-forwards the clock of one workflow at a time past
its deadline on the dev server (per-workflow time skipping, enabled by ``shezu up``), so those
documents carry the later dates.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import httpx
from temporalio.service import RPCError
from temporalio.testing import TimeSkipper

from audit.bundle import build_bundle, verify_bundle, write_bundle
from audit.ocds import release_package, validate_release_package
from audit.source import fetch_case_tree, server_cases
from cli.system import running_system
from rules.contracts import term_end
from schemas.application import Track
from schemas.contracts import EvaluationKind
from schemas.incubation import IncubationBase
from schemas.localtime import SHANGHAI, local_date
from schemas.money import yuan
from schemas.procurement import score_text
from service.connection import connect_temporal, read_model
from settings import PROJECT_ROOT, Settings
from store import bases
from store.register import RegisterEntry, RegisterFile, load_register


def example(name: str) -> dict[str, Any]:
    """The README's example applications are the demo's too."""
    return json.loads((PROJECT_ROOT / "examples" / f"{name}.json").read_text(encoding="utf-8"))


ADMINISTRATOR = "admin"
ORGANIZER = "mz-chen"
BUYER = "dept-wj"
FINANCE = "fin-01"
EVALUATOR = "eval-01"
BASE_STAFF = "fh-piao"
MENTOR = "ds-cui"
BIDDERS = {"YJ-REG-0001": "org-chunhui", "YJ-REG-0002": "org-xiyanghong", "YJ-REG-0003": "org-yangguang", "YJ-REG-0005": "org-hemei"}


class Unexpected(Exception):
    """The system did something other than what the demo expects."""


class Demo:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self.step = 0
        self.stamp = time.strftime("%m%d%H%M%S")
        self.fair_no = ""
        self.tokens: dict[str, str] = {}
        self.names: dict[str, str] = {}
        """New users' names where a document states them (the 入孵协议's 代表人); others are named by their id."""

    def say(self, text: str) -> None:
        self.step += 1
        print(f"[{self.step:02d}] {text}", flush=True)

    async def signed_in(self, user: str) -> dict[str, str]:
        """Credentials for ``user``: signed in once with the development system's demo password, kept as a token."""
        if user not in self.tokens:
            if user != ADMINISTRATOR:  # a new applicant or representative gets an account first
                opened = await self.http.post(
                    "/api/admin/accounts", headers=await self.signed_in(ADMINISTRATOR),
                    json={"user_id": user, "name": self.names.get(user, user), "password": self.settings.demo_password},
                )
                self.check(opened.status_code in (201, 409), f"管理员未能为 {user} 开设账号：{opened.text}")
            self.tokens[user] = await self.sign_in(user)
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def sign_in(self, user: str) -> str:
        """Sign in as a person would (session cookie, CSRF token), take a token for the rest of the demo, sign out."""
        async with httpx.AsyncClient(base_url=self.settings.api_url, timeout=60) as browser:
            answer = await browser.post("/api/session", json={"user_id": user, "password": self.settings.demo_password})
            if answer.status_code != 200:
                raise Unexpected(
                    f"不能以演示账号 {user} 登录（{answer.json().get('message')}）：演示使用开发模式"
                    "（SHEZU_MODE=development）首次启动时建立的演示账号及其密码（SHEZU_DEMO_PASSWORD）"
                )
            form = {"X-CSRF-Token": answer.json()["csrf_token"]}
            token = await browser.post("/api/tokens", json={"name": "shezu demo", "days": 1}, headers=form)
            self.check(token.status_code == 201, f"{user} 未能取得令牌：{token.text}")
            await browser.delete("/api/session", headers=form)
            return token.json()["token"]

    async def call(self, method: str, path: str, user: str | None, expect: int, body: Any = None) -> Any:
        headers = await self.signed_in(user) if user else {}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code != expect:
            raise Unexpected(f"{method} {path} 返回 {response.status_code}（预期 {expect}）：{response.text}")
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response

    async def find(self, path: str, user: str | None, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first item of a paged list that is ``wanted``, walking its pages in order."""
        offset = 0
        while True:
            page = await self.call("GET", f"{path}?limit=200&offset={offset}", user, 200)
            found = next((item for item in page["items"] if wanted(item)), None)
            offset += len(page["items"])
            if found is not None or not page["items"] or offset >= page["total"]:
                return found

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

    async def document(self, view: dict[str, Any], kind: str, user: str, count: int = 1) -> str:
        """The latest of the ``count`` documents of ``kind`` the case should have issued, saved for reading."""
        found = [d for d in view["documents"] if d["kind"] == kind]
        self.check(len(found) == count, f"应有{count}份 {kind} 文书，实际 {[d['title'] for d in view['documents']]}")
        latest = found[-1]
        response = await self.call("GET", latest["pdf_url"], user, 200)
        self.check(response.content.startswith(b"%PDF"), f"{latest['title']} 不是 PDF")
        target = self.settings.data_dir / "demo" / f"{latest['document_id']}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.content)
        return f"{latest['title']}（{latest['number']}）已生成：{target}"

    async def until_phase(self, case_no: str, user: str, phase: str, seconds: float = 60) -> dict[str, Any]:
        give_up = time.monotonic() + seconds
        while True:
            view = await self.case(case_no, user)
            if view["phase"] == phase:
                return view
            if time.monotonic() > give_up:
                raise Unexpected(f"{case_no} 未进入 {phase}，当前 {view['phase_name']}")
            await asyncio.sleep(0.3)

    async def fast_forward(self, workflow_id: str, until: datetime) -> None:
        """Move one workflow's clock past ``until`` (per-workflow time skipping on the dev server)."""
        client = await connect_temporal(self.settings)
        skipper = TimeSkipper(client)
        handle = client.get_workflow_handle(workflow_id)
        now = await skipper.get_current_time(handle)
        try:
            await skipper.fast_forward(handle, max(until - now, timedelta(0)) + timedelta(minutes=1))
        except RPCError as error:
            raise Unexpected(
                f"Temporal 服务未启用按流程时间快进（{error.message}）；演示需要由 ./scripts/up 启动的开发服务器"
            ) from error

    async def until(self, path: str, user: str | None, done: Any, what: str, seconds: float = 60) -> dict[str, Any]:
        give_up = time.monotonic() + seconds
        while True:
            view = await self.call("GET", path, user, 200)
            if done(view):
                return view
            if time.monotonic() > give_up:
                raise Unexpected(f"{path} 未{what}，当前 {view.get('phase_name')}")
            await asyncio.sleep(0.3)

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

        task = await self.find("/api/tasks", "cg-zhao", lambda t: t["case_no"] == case_no)
        self.check(task is not None, "居委会赵丽的待办中应有本案")
        message = await self.refused(case_no, "cg-zhao", "authority_review", "approve", 409)
        self.say(f"居委会赵丽试图越过初审直接办理街道审核，被拒绝：{message}")
        await self.decide(case_no, "cg-zhao", "preliminary_review", "approve")
        self.say("社区居委会A岗赵丽初审同意")
        message = await self.refused(case_no, "hn-zheng", "authority_review", "approve", 404)
        self.say(f"河南街道郑红试图办理建工街道的案件，得到与案号不存在相同的答复：{message}")
        answer = await self.decide(case_no, "jg-zhou", "authority_review", "approve")
        self.check(answer["phase"] == "public_notice", f"审核同意后应进入公示，实际 {answer['phase_applicant_name']}")
        await self.noticed_and_approved(case_no, applicant)

    async def noticed_and_approved(self, case_no: str, applicant: str) -> dict[str, Any]:
        """A 建工街道 filing approved by the street office: its public notice, run out on its clock, then the decision."""
        view = await self.case(case_no, applicant)
        self.say(f"建工街道办事处A岗周静审核同意，进入公示，公示至 {view['public_notice_until']}；{await self.document(view, 'public_notice', applicant)}")
        self.say("（演示）快进本案时钟至公示期满")
        await self.fast_forward(case_no, datetime.fromisoformat(view["next_deadline"]["due_at"]))
        await self.until_phase(case_no, applicant, "decision")
        answer = await self.decide(case_no, "jg-zhou", "decision", "approve")
        self.check(answer["phase"] == "approved", f"应准予备案，实际 {answer['phase_applicant_name']}")
        view = await self.case(case_no, applicant)
        self.say(f"公示期满无异议，周静作出准予备案决定，证书编号 {view['certificate_number']}；{await self.document(view, 'certificate', applicant)}")
        return view

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


    async def fair(self) -> tuple[str, str]:
        """The fair; returns the awarded lot's contract number and the winner's representative."""
        print("\n=== 三、社洽会：两个项目，一个经质疑后成交，一个流标 ===")
        now = datetime.now(UTC)
        schedule = {
            "demands_due": (now + timedelta(days=3)).isoformat(),
            "fair_day": (now + timedelta(days=6)).date().isoformat(),
            "bids_close": (now + timedelta(days=14)).isoformat(),
        }
        created = await self.call(
            "POST", "/api/fairs", ORGANIZER, 201, {"title": f"延吉市社会组织成果展示暨社洽会（演示{self.stamp}）", "schedule": schedule}
        )
        fair_no = self.fair_no = created["fair_no"]
        self.say(f"延吉市民政局陈洁创建社洽会 {fair_no}，征集购买服务需求")
        elderly = example("demand-elderly-care")
        youth = example("demand-youth")
        await self.call("POST", f"/api/fairs/{fair_no}/demands", "dept-wj", 200, elderly)
        await self.call("POST", f"/api/fairs/{fair_no}/demands", "dept-jy", 200, youth)
        self.say(f"卫生健康局提交「{elderly['title']}」，教育局提交「{youth['title']}」（要求评估等级{youth['requirements']['minimum_grade']}以上）")
        await self.call("POST", f"/api/fairs/{fair_no}/showcase", "org-yangguang", 200, example("showcase"))
        self.say("阳光助残服务中心登记展示公益服务项目，任何人可查看")

        self.say("（演示）快进社洽会时钟至需求征集截止")
        await self.fast_forward(fair_no, datetime.fromisoformat(schedule["demands_due"]))
        await self.until(f"/api/fairs/{fair_no}", ORGANIZER, lambda v: v["phase"] == "reviewing", "进入需求审核")
        for demand_id in ("D01", "D02"):
            await self.call("POST", f"/api/fairs/{fair_no}/demands/{demand_id}/review", ORGANIZER, 200, {"approve": True})
        await self.call("POST", f"/api/fairs/{fair_no}/catalogue", ORGANIZER, 200)
        view = await self.until(f"/api/fairs/{fair_no}", None, lambda v: len(v["catalogue"]) == 2, "发布需求目录")
        care, youth_lot = (entry["lot_no"] for entry in view["catalogue"])
        self.say(f"审核通过并发布需求公告，项目 {care}、{youth_lot} 开始接受投标；{await self.document(view, 'demand_catalogue', ORGANIZER)}")

        for organization, price in (("YJ-REG-0001", 28_000_000), ("YJ-REG-0002", 26_500_000), ("YJ-REG-0003", 29_000_000), ("YJ-REG-0005", 25_000_000)):
            await self.call("POST", f"/api/lots/{care}/bids", BIDDERS[organization], 200, bid(organization, price))
        for organization, price in (("YJ-REG-0001", 18_000_000), ("YJ-REG-0002", 17_500_000)):
            await self.call("POST", f"/api/lots/{youth_lot}/bids", BIDDERS[organization], 200, bid(organization, price))
        mine = await self.call("GET", f"/api/lots/{care}", "org-chunhui", 200)
        self.check(len(mine["bids"]) == 1 and mine["bid_count"] is None, "投标人只能看到本组织的投标，截止前看不到投标份数")
        self.say(f"「{elderly['title']}」收到4份投标，「{youth['title']}」收到2份；春晖中心只能看到自己的投标，截止前不知道共有几份")

        self.say("（演示）快进两个项目的时钟至投标截止")
        for lot in (care, youth_lot):
            await self.fast_forward(lot, datetime.fromisoformat(schedule["bids_close"]))
        state = await self.until(f"/api/lots/{care}", ORGANIZER, lambda v: v["phase"] == "evaluation", "进入专家评审")
        failed = [s for s in state["screenings"] if s["checks"] and not all(c["met"] for c in s["checks"])]
        self.say("资格审查：" + "；".join(f"{s['organization_name']}不合格（{c['detail']}）" for s in failed for c in s["checks"] if not c["met"]))
        self.say(f"随机抽取评审专家：{'、'.join(s['expert']['name'] for s in state['panel'])}；回避：{'、'.join(state['recusals']) or '无'}")
        youth_view = await self.until(f"/api/lots/{youth_lot}", ORGANIZER, lambda v: v["phase"] == "failed" and v["tasks"], "流标")
        self.say(f"「{youth['title']}」合格投标不足3份，流标；{await self.document(youth_view, 'failed_lot_notice', ORGANIZER)}")

        for n, seat in enumerate(state["panel"]):
            expert = seat["expert"]["user_id"]
            visible = await self.call("GET", f"/api/lots/{care}", expert, 200)
            scores = {b["bid_id"]: score(b["organization"], n) for b in visible["bids"]}
            await self.call("POST", f"/api/lots/{care}/scores", expert, 200, {"scores": scores})
        self.say(f"{len(state['panel'])}名专家各自独立评分（每位专家只能看到本项目的合格投标）")
        result = await self.until(f"/api/lots/{care}", "org-yangguang", lambda v: v["phase"] == "result_notice", "进入结果公示")
        ranking = "；".join(f"第{e['rank']}名{e['organization_name']} {score_text(e['final_score_x100'])}分" for e in result["ranking"]["entries"])
        self.say(f"评审结果公示至{result['result_notice_until']}：{ranking}")

        challenge = {"organization": "YJ-REG-0003", "content": "第一名的服务团队人员与其他在建项目重复，服务能力评分偏高"}
        await self.call("POST", f"/api/lots/{care}/challenges", "org-yangguang", 200, challenge)
        answer = {"upheld": False, "reasons": ["经核查，春晖中心的服务团队名单与社保缴费记录一致，不存在重复"]}
        await self.call("POST", f"/api/lots/{care}/challenges/ZY01/answer", ORGANIZER, 200, answer)
        self.say("阳光助残服务中心提出质疑，民政局陈洁核查后答复：质疑不成立")
        self.say("（演示）快进项目时钟至公示期满")
        notice_ends = datetime.combine(date.fromisoformat(result["result_notice_until"]) + timedelta(days=1), time_of_day(0), SHANGHAI)
        await self.fast_forward(care, notice_ends)
        offer_view = await self.until(f"/api/lots/{care}", ORGANIZER, lambda v: v["phase"] == "awarding", "发出成交通知")
        winner = offer_view["offers"][-1]
        await self.call("POST", f"/api/lots/{care}/award-response", BIDDERS[winner["organization"]], 200, {"organization": winner["organization"], "accept": True})
        awarded = await self.until(f"/api/lots/{care}", ORGANIZER, lambda v: v["phase"] == "awarded", "成交")
        contract = awarded["contract"]
        self.say(f"「{winner['organization_name']}」确认成交，成交金额{yuan(contract['amount_fen'])}，合同 {contract['contract_no']} 进入起草；{await self.document(awarded, 'award_notice', ORGANIZER)}")

        await self.call("POST", f"/api/lots/{youth_lot}/failed-lot-decision", ORGANIZER, 200, {"retender": False, "reasons": ["符合等级要求的组织不足，改为下一年度采购"]})
        closed = await self.until(f"/api/fairs/{fair_no}", None, lambda v: v["phase"] == "closed", "结束")
        self.say(f"民政局终止流标项目；社洽会 {fair_no} 结束：{'；'.join(lot['title'] + '：' + (lot['winner'] or '已终止') for lot in closed['lots'])}")
        return str(contract["contract_no"]), BIDDERS[winner["organization"]]

    # --- contracts ------------------------------------------------------------------------------

    async def contract(self, contract_no: str, user: str) -> dict[str, Any]:
        return await self.call("GET", f"/api/contracts/{contract_no}", user, 200)

    async def until_contract(self, contract_no: str, done: Any, what: str) -> dict[str, Any]:
        return await self.until(f"/api/contracts/{contract_no}", BUYER, done, what)

    async def sign_and_start(self, contract_no: str, supplier: str) -> dict[str, Any]:
        """The buyer drafts the plan (the README's example, moved to start on the contract's today, which the
        demo's fast-forwarded clocks may have put ahead of the wall clock, and scaled to the amount); both sign."""
        view = await self.until_contract(contract_no, lambda v: v["phase"] == "drafting", "进入起草")
        today = max([datetime.now(UTC), *(datetime.fromisoformat(e["at"]) for e in view["timeline"])])
        plan = contract_plan(view["amount_fen"], view["duration_months"], local_date(today))
        await self.call("POST", f"/api/contracts/{contract_no}/plan", BUYER, 200, plan)
        await self.call("POST", f"/api/contracts/{contract_no}/signatures", BUYER, 200, {"party": "buyer"})
        await self.call("POST", f"/api/contracts/{contract_no}/signatures", supplier, 200, {"party": "supplier"})
        view = await self.until_contract(contract_no, lambda v: tranche(v, "T1")["status"] == "instructed", "下达预付款支付指令")
        term = f"{plan['start_date']} 至 {plan['end_date']}"
        self.say(
            f"卫生健康局提交履约计划（{term}，{len(plan['milestones'])}个节点，{len(plan['tranches'])}笔拨付），双方签署，合同生效；"
            f"双方签署后的{await self.document(view, 'contract', supplier, count=2)}"
        )
        return view

    async def disburse(self, contract_no: str, tranche_id: str) -> dict[str, Any]:
        voucher = f"GK-{contract_no}-{tranche_id}"
        body = {"tranche_id": tranche_id, "voucher": voucher}
        await self.call("POST", f"/api/contracts/{contract_no}/disbursements", FINANCE, 200, body)
        again = await self.call("POST", f"/api/contracts/{contract_no}/disbursements", FINANCE, 409, body)
        self.check("已" in again["message"], f"重复拨付应被拒绝并说明原因：{again['message']}")
        view = await self.contract(contract_no, FINANCE)
        paid = tranche(view, tranche_id)
        self.check(paid["status"] == "paid", f"{tranche_id} 应已拨付")
        self.say(f"财政局拨付{tranche_id} {yuan(paid['amount_fen'])}（凭证 {voucher}），记入专帐；再次登记同一笔被拒绝：{again['message']}")
        return view

    async def deliver(self, contract_no: str, supplier: str, milestone_id: str) -> dict[str, Any]:
        await self.call("POST", f"/api/contracts/{contract_no}/milestones/{milestone_id}/report", supplier, 200, example("delivery"))
        await self.until_contract(contract_no, lambda v: any(h["step"] == "acceptance" for h in v["holders"]), "进入验收")
        await self.call("POST", f"/api/contracts/{contract_no}/milestones/{milestone_id}/review", BUYER, 200, {"accept": True})
        view = await self.until_contract(
            contract_no, lambda v: next(m for m in v["milestones"] if m["milestone_id"] == milestone_id)["status"] == "accepted", "验收"
        )
        title = next(m["title"] for m in view["milestones"] if m["milestone_id"] == milestone_id)
        self.say(f"承接方提交节点{milestone_id}「{title}」履约报告，卫生健康局验收通过")
        return view

    async def evaluate(self, contract_no: str, scores: dict[str, int], satisfaction: int, comment: str | None = None) -> dict[str, Any]:
        before = len((await self.contract(contract_no, EVALUATOR))["evaluations"])
        await self.until_contract(contract_no, lambda v: any(h["step"] == "evaluation" for h in v["holders"]), "进入绩效评价")
        body = {**example("evaluation"), "scores": scores, "satisfaction_rate": satisfaction}
        if comment:
            body["comment"] = comment
        await self.call("POST", f"/api/contracts/{contract_no}/evaluations", EVALUATOR, 200, body)
        view = await self.until_contract(
            contract_no, lambda v: len(v["evaluations"]) > before and v["evaluations"][-1]["document_id"], "出具评价报告"
        )
        evaluation = view["evaluations"][-1]
        self.say(
            f"评估机构{EvaluationKind(evaluation['kind']).label}：总分{evaluation['total']}，"
            f"等级{evaluation['grade']}（{evaluation['grade_label']}）；"
            f"{await self.document_by_id(view, evaluation['document_id'], EVALUATOR)}"
        )
        return view

    async def document_by_id(self, view: dict[str, Any], document_id: str, user: str) -> str:
        found = next(d for d in view["documents"] if d["document_id"] == document_id)
        return await self.document({"documents": [found]}, found["kind"], user)

    async def delivered_and_rewarded(self, contract_no: str, supplier: str) -> None:
        print("\n=== 四、合同履约：成交项目按进度拨付，终期评价优秀，以奖代补 ===")
        await self.sign_and_start(contract_no, supplier)
        await self.disburse(contract_no, "T1")
        await self.deliver(contract_no, supplier, "M1")
        await self.evaluate(contract_no, {"output": 36, "effect": 26, "management": 17}, 92)
        await self.disburse(contract_no, "T2")
        await self.deliver(contract_no, supplier, "M2")
        await self.evaluate(contract_no, {"output": 38, "effect": 28, "management": 18}, 96)
        view = await self.until_contract(
            contract_no, lambda v: v["reward"] is not None and v["reward"]["status"] == "instructed", "作出以奖代补决定"
        )
        self.say(f"终期评价优秀，以奖代补{yuan(view['reward']['amount_fen'])}；{await self.document(view, 'reward_decision', supplier)}")
        await self.disburse(contract_no, "T3")
        await self.disburse(contract_no, "R1")
        view = await self.until_contract(contract_no, lambda v: v["phase"] == "completed", "履行完毕")
        tranches = sum(e["amount_fen"] for e in view["ledger"] if e["kind"] == "tranche" and e["status"] == "paid")
        self.check(tranches == view["amount_fen"], f"专帐拨付合计{yuan(tranches)}应等于合同金额{yuan(view['amount_fen'])}")
        disclosed = await self.find("/api/disclosure/contracts", None, lambda d: d["contract_no"] == contract_no)
        self.check(disclosed is not None, f"定期公开中应有合同 {contract_no}")
        self.say(
            f"合同履行完毕：专帐拨付合同款{yuan(tranches)}，与合同金额一致；另拨以奖代补{yuan(view['reward']['amount_fen'])}。"
            f"定期公开：{disclosed['status_name']}，已拨付{yuan(disclosed['paid_fen'])}，{'；'.join(disclosed['grades'])}"
        )

    async def terminated_after_rectification(self) -> None:
        print("\n=== 五、单一来源采购合同：中期评价不合格，整改后复评仍不合格，合同终止 ===")
        supplier_key, supplier = self.demo_supplier()
        request = {**example("single-source"), "supplier": supplier_key}
        created = await self.call("POST", "/api/contracts/single-source", BUYER, 201, request)
        contract_no = created["contract_no"]
        await self.until_contract(contract_no, lambda v: v["phase"] == "approval" and v["holders"], "进入审批")
        await self.call("POST", f"/api/contracts/{contract_no}/single-source-approval", ORGANIZER, 200, {"approve": True})
        self.say(f"卫生健康局申请单一来源采购「{request['title']}」（{created['supplier_name']}，{yuan(request['amount_fen'])}），民政局陈洁同意，合同 {contract_no}")
        await self.sign_and_start(contract_no, supplier)
        await self.disburse(contract_no, "T1")
        await self.deliver(contract_no, supplier, "M1")
        failing = {"output": 22, "effect": 15, "management": 10}
        shortfalls = (
            "上门服务实际完成约四成，照护档案缺失近半，服务记录多处无服务对象签字；专项资金支出凭证不全，"
            "服务对象满意率仅55%。须补齐档案和服务记录，按合同频次上门，规范资金台账。"
        )
        view = await self.evaluate(contract_no, failing, 55, shortfalls)
        view = await self.until_contract(contract_no, lambda v: v["phase"] == "rectification", "进入整改")
        self.say(f"中期评价不合格，限期{view['rectification']['due_date']}前整改；{await self.document(view, 'rectification_notice', supplier)}")
        report = {"summary": "已补齐上门服务记录签字，重新核对服务对象名单，调整排班。", "attachments": []}
        await self.call("POST", f"/api/contracts/{contract_no}/rectification", supplier, 200, report)
        self.say("承接方提交整改报告，进入复评")
        await self.evaluate(contract_no, failing, 58, "整改报告所述措施未落实：抽查的服务对象中仍有半数未按约上门，档案未补齐，资金台账仍不规范。")
        view = await self.until_contract(contract_no, lambda v: v["phase"] == "terminated", "终止")
        result = view["result"]
        self.check(result["barred_until_year"] is not None, "复评不合格应限制其参加社洽会")
        withheld = [t for t in view["tranches"] if t["status"] == "withheld"]
        self.say(
            f"复评仍不合格，合同终止：{'；'.join(result['reasons'])}；{await self.document(view, 'termination_notice', supplier)}"
        )
        for entry in (t["tranche_id"] for t in view["tranches"] if t["status"] == "instructed"):
            await self.disburse(contract_no, entry)
        again = await self.call("POST", "/api/contracts/single-source", BUYER, 422, request)
        self.say(f"扣留{len(withheld)}笔未到拨付条件的款项；该组织再申请单一来源采购被拒绝：{again['message']}")

    async def audit(self) -> None:
        """An auditor exports the fair (its lots, the contract) as a bundle and verifies it offline, and the
        procurement is published as an OCDS package validated against the official schema."""
        print("\n=== 六、审计：导出审计包并离线核验，生成 OCDS 公开数据 ===")
        client = await connect_temporal(self.settings)
        cases = await fetch_case_tree(client, self.fair_no)
        target = self.settings.data_dir / "demo" / f"audit-{self.fair_no}"
        shutil.rmtree(target, ignore_errors=True)
        digest = write_bundle(build_bundle(cases, self.settings.documents_dir, {"temporal_address": self.settings.temporal_address}), target)
        self.say(f"导出社洽会 {self.fair_no} 的审计包（{len(cases)} 个案件）：{target}，清单 SHA-256 {digest[:16]}…")
        report = await verify_bundle(target, digest)
        self.check(report.passed, "审计包离线核验未通过：\n" + report.text())
        documents = sum(check.section == "文书" for check in report.checks)
        self.say(f"离线核验通过：{len(report.checks)} 项检查，{documents} 份文书按历史重新生成后与记录一致")
        lots = await server_cases(client, f"WorkflowId STARTS_WITH '{self.fair_no}-'")
        package = release_package(
            lots, publisher_name="延吉市民政局", prefix=self.settings.ocds_prefix, published_at=datetime.now(UTC),
            uri=f"urn:shezu:ocds:{self.fair_no}", documents_url=f"{self.settings.api_url}/api/documents",
        )
        errors = validate_release_package(package)
        self.check(not errors, f"OCDS 发布包不符合官方模式：{errors[:3]}")
        published = self.settings.data_dir / "demo" / f"ocds-{self.fair_no}.json"
        published.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
        ocids = {release["ocid"] for release in package["releases"]}
        self.say(f"OCDS 1.1 发布包：{len(ocids)} 个采购过程、{len(package['releases'])} 条发布，已按官方模式校验：{published}")

    # --- incubation ----------------------------------------------------------------------------

    async def incubation(self, case_no: str, user: str, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        return await self.until(f"/api/incubations/{case_no}", user, done, what)

    async def places(self, code: str) -> dict[str, Any]:
        """The base's public page: free places and the waiting list's length."""
        return await self.call("GET", f"/api/bases/{code}", None, 200)

    async def applied_and_admitted(self, representative: str, application: dict[str, Any], admission: dict[str, Any]) -> dict[str, Any]:
        """A group applies and the base's A岗 admits it: it takes a place, or waits for one."""
        receipt = await self.call("POST", "/api/incubations", representative, 201, application)
        case_no = receipt["case_no"]
        await self.incubation(case_no, BASE_STAFF, lambda v: "decide_admission" in v["actions"], "进入入孵审核")
        await self.call("POST", f"/api/incubations/{case_no}/admission", BASE_STAFF, 200, {"admit": True, **admission})
        return await self.incubation(case_no, representative, lambda v: v["phase"] in ("incubating", "waiting"), "入孵或候补")

    async def incubated_filed_and_graduated(self) -> None:
        print("\n=== 七、孵化：银发读书会入孵，孵化期内备案，期满出壳 ===")
        representative = f"demo-group-{self.stamp}"
        self.names[representative] = "王芳"
        application = example("incubation-application")
        application["group_name"] += f"（演示{self.stamp}）"
        code = application["base_code"]
        before = await self.places(code)
        admission = {
            "mentor_id": MENTOR, "services": ["mentoring", "filing_help"],
            "service_plan": "每月一次章程和财务管理辅导，协助准备备案材料，推荐参加社洽会展示。",
        }
        view = await self.applied_and_admitted(representative, application, admission)
        case_no = view["case_no"]
        self.check(view["phase"] == "incubating", f"{before['name']}有空余席位，应入孵，实际 {view['phase_name']}")
        self.say(f"春光社区银发读书会（尚未备案）申请入驻{view['base_name']}，案号 {case_no}；{before['name']}空余席位 {before['free_places']} 个")
        self.say(
            f"基地A岗朴美玲准予入孵：导师{view['mentor']}，服务内容{'、'.join(view['services'])}，"
            f"孵化期至{local_date(datetime.fromisoformat(view['term_ends']))}；{await self.document(view, 'incubation_agreement', representative)}"
        )
        after = await self.places(code)
        self.check(after["free_places"] == before["free_places"] - 1, f"入孵后空余席位应减少一个，实际 {after['free_places']}")

        filing = example("filing")
        filing["organization_name"] = application["group_name"]
        filing["business_scope"] = "组织社区老年居民开展读书分享和邻里互助探访"
        receipt = await self.call("POST", f"/api/incubations/{case_no}/filings", representative, 201, filing)
        filing_no = receipt["case_no"]
        self.check(receipt["incubation_case_no"] == case_no, "孵化期内的备案应记在本孵化案件下")
        self.say(f"读书会在孵化期内申请备案，作为孵化的子案件办理，案号 {filing_no}")
        await self.until_phase(filing_no, representative, "preliminary_review")
        await self.decide(filing_no, "cg-zhao", "preliminary_review", "approve")
        self.say("社区居委会A岗赵丽初审同意")
        await self.decide(filing_no, "jg-zhou", "authority_review", "approve")
        await self.noticed_and_approved(filing_no, representative)
        view = await self.incubation(case_no, representative, lambda v: v["organization"] is not None, "记录备案里程碑")
        [milestone] = view["filings"]
        self.check(milestone["case_no"] == filing_no and milestone["outcome"] == "approved", f"孵化案件应显示备案已获准予：{milestone}")
        self.say(f"孵化案件记录：{next(e['summary'] for e in reversed(view['timeline']) if e['action'] == 'milestone_reached')}")

        mentor = view["mentor"]
        while True:
            view = await self.incubation(
                case_no, MENTOR,
                lambda v: v["phase"] == "assessing" or v["timeline"][-1]["action"] == "reports_done"
                or any(h["step"] == "check_in" for h in v["holders"]),
                "开始下一次孵化报告",
            )  # fmt: skip
            if view["phase"] == "assessing":
                break
            if view["timeline"][-1]["action"] == "reports_done":
                self.say(f"{view['timeline'][-1]['summary']}；（演示）快进孵化案件时钟至孵化期届满")
                await self.fast_forward(case_no, datetime.fromisoformat(view["term_ends"]))
                continue
            due = next(h["deadline"] for h in view["holders"] if h["step"] == "check_in")
            report = {"summary": f"第{view['reports'] + 1}次辅导：读书会按计划每周活动，本月完善了章程和活动记录，财务由社区代管。"}
            await self.call("POST", f"/api/incubations/{case_no}/reports", MENTOR, 200, report)
            self.say(f"导师{mentor}按期提交第{view['reports'] + 1}次孵化报告（{due['due_date']}前）；（演示）快进孵化案件时钟至下次报告")
            await self.fast_forward(case_no, datetime.fromisoformat(due["due_at"]))
        self.check(view["late_reports"] == 0, f"导师按期报告，不应有逾期报告，实际 {view['late_reports']} 次")
        self.say(f"孵化期满，共{view['reports']}次孵化报告，无逾期；进入出壳评估")

        criteria = [c["id"] for c in view["criteria"]]
        await self.incubation(case_no, BASE_STAFF, lambda v: "assess" in v["actions"], "等待出壳评估")
        await self.call("POST", f"/api/incubations/{case_no}/assessment", BASE_STAFF, 200, {"outcome": "graduate", "criteria_met": criteria})
        self.say(f"基地出壳评估：达到全部出壳标准（{'、'.join(c['label'] for c in view['criteria'])}），准予出壳，报民政局审核")
        await self.incubation(case_no, ORGANIZER, lambda v: "review_assessment" in v["actions"], "等待民政局审核")
        await self.call("POST", f"/api/incubations/{case_no}/assessment/review", ORGANIZER, 200, {"agree": True})
        view = await self.incubation(case_no, representative, lambda v: v["phase"] == "graduated", "出壳")
        self.say(f"民政局陈洁审核同意，读书会出壳；{await self.document(view, 'graduation_certificate', representative)}")
        self.check((await self.places(code))["free_places"] == before["free_places"], "出壳后席位应空出")
        entry = await self.find("/api/my/organizations", representative, lambda o: o["key"] == filing_no)
        stays = entry["incubations"] if entry else []
        self.check(bool(stays) and stays[-1]["outcome"] == "graduated", f"社会组织名录条目应记有出壳：{entry}")
        self.say(f"社会组织名录中读书会的条目记有孵化经历：{stays[-1]['text']}")

    async def base_fills_and_serves_its_waiting_list(self) -> None:
        print("\n=== 八、孵化基地满员：候补名单按顺序递补 ===")
        base = self.demo_base()
        start = await self.places(base.code)
        self.say(f"{base.name}：{start['capacity']}个席位，空余{start['free_places']}个，候补{start['waiting']}个")
        groups = [("手工编织队", "刘秀兰"), ("象棋协会", "金哲"), ("邻里调解队", "朴春花")][: base.capacity + 1]
        cases = []
        for n, (group, leader) in enumerate(groups):
            application = {
                **example("incubation-application"), "base_code": base.code, "group_name": f"春光社区{group}（演示{self.stamp}）"
            }
            representative = f"demo-group-{self.stamp}-{n + 2}"
            self.names[representative] = leader
            view = await self.applied_and_admitted(representative, application, {})
            cases.append((representative, view))
            places = await self.places(base.code)
            if n < base.capacity:
                self.check(view["phase"] == "incubating", f"基地未满，{group}应入孵，实际 {view['phase_name']}")
                self.say(f"{group}获准入孵，{base.name}空余席位{places['free_places']}个")
            else:
                self.check(
                    view["phase"] == "waiting" and view["waiting_position"] == 1 and places["waiting"] == 1,
                    f"基地已满，{group}应列入候补第1位，实际 {view['phase_name']}，第{view['waiting_position']}位",
                )
                told = await self.told(representative, view["case_no"], "incubation_waitlisted")
                self.say(f"{group}获准入孵但基地已满，{leader}收到通知：{told['subject']}")
        (leaving, first), (_, last) = cases[0], cases[-1]
        reasons = ["团队主要成员迁往外地，活动无法继续"]
        await self.call("POST", f"/api/incubations/{first['case_no']}/exit", leaving, 200, {"reasons": reasons})
        self.say(f"{groups[0][0]}申请退出孵化，理由：{reasons[0]}；席位空出")
        view = await self.incubation(last["case_no"], BASE_STAFF, lambda v: v["phase"] == "incubating", "递补入孵")
        told = await self.told(cases[-1][0], last["case_no"], "incubation_place_granted")
        places = await self.places(base.code)
        self.check(places["free_places"] == 0 and places["waiting"] == 0, f"递补后应满员且无人候补，实际空余{places['free_places']}、候补{places['waiting']}")
        self.say(
            f"候补第1位的{groups[-1][0]}按顺序递补入孵（{groups[-1][1]}收到通知：{told['subject']}），导师{view['mentor']}；"
            f"{base.name}空余席位{places['free_places']}个，候补{places['waiting']}个"
        )

    async def told(self, user: str, case_no: str, kind: str, seconds: float = 60) -> dict[str, Any]:
        """The message of ``kind`` the case sent ``user`` (notifications are sent by an activity, just after the change)."""
        give_up = time.monotonic() + seconds
        while (found := await self.find("/api/notifications", user, lambda n: n["case_no"] == case_no and n["kind"] == kind)) is None:
            if time.monotonic() > give_up:
                raise Unexpected(f"{user} 未收到 {case_no} 的 {kind} 通知")
            await asyncio.sleep(0.3)
        return found

    def demo_base(self) -> IncubationBase:
        """The sample file's 建工街道 branch, copied under a code of its own for each demo run and loaded as an
        administrator would (``shezu incubation load-bases``), so the places this run's groups keep do not fill the next's."""
        engine = read_model(self.settings)
        sample = bases.base(engine, "YJ-JG-FH")
        self.check(sample is not None, "孵化基地 YJ-JG-FH 未导入；演示使用 directory/sample-bases.yaml 中的基地")
        assert sample is not None
        copy = sample.model_copy(update={"code": f"{sample.code}-D{self.stamp}", "name": f"{sample.name}（演示{self.stamp}）"})
        bases.load_bases(engine, bases.BasesFile(bases=[copy]))
        return copy

    def demo_supplier(self) -> tuple[str, str]:
        """A supplier of its own for each demo run, imported into the register as an administrator would
        (``shezu register import``), so that barring it does not change the next run's fair."""
        key, representative = f"YJ-REG-D{self.stamp}", f"org-ankang-{self.stamp}"
        entry = RegisterEntry(
            key=key, name=f"延吉市安康居家养老服务中心（演示{self.stamp}）", track=Track.service_institution, community="YJ-JG-MA",
            certificate_number=f"52222401MJD{self.stamp}", approved_on=date(2022, 5, 1), valid_until=date(2032, 4, 30),
            grade="3A", representative_id=representative, representative_name="金安康",
        )
        load_register(read_model(self.settings), RegisterFile(organizations=[entry]))
        return key, representative


def bid(organization: str, price_fen: int) -> dict[str, Any]:
    return {
        "organization": organization,
        "price_fen": price_fen,
        "proposal": "组建由社工、护理员和志愿者组成的服务团队，按月制定服务计划，建立服务档案并定期回访评估。",
        "team": ["项目主管1名", "社会工作者3名", "志愿者10名"],
        "past_projects": ["2025年社区助老服务项目"],
    }


def score(organization: str, expert: int) -> dict[str, int]:
    """Scores that rank 春晖 first, 夕阳红 second, 阳光 third, varying a little by expert."""
    base = {"YJ-REG-0001": (36, 27, 17, 9), "YJ-REG-0002": (34, 25, 18, 8), "YJ-REG-0003": (31, 24, 16, 8)}[organization]
    wobble = (expert % 3) - 1
    return dict(zip(("plan", "capacity", "budget", "reputation"), (base[0] + wobble, base[1], base[2], base[3]), strict=True))


def tranche(view: dict[str, Any], tranche_id: str) -> dict[str, Any]:
    reward = [view["reward"]] if view.get("reward") else []
    return next(t for t in [*view["tranches"], *reward] if t["tranche_id"] == tranche_id)


def contract_plan(amount_fen: int, months: int, start: date) -> dict[str, Any]:
    """The README's example plan, moved to start on ``start`` for the awarded ``months``, its payments
    30% / 40% / 30% of the amount."""
    plan = example("contract-plan")
    shift = start - date.fromisoformat(plan["start_date"])

    def moved(day: str) -> str:
        return (date.fromisoformat(day) + shift).isoformat()

    plan["start_date"], plan["end_date"] = start.isoformat(), term_end(start, months).isoformat()
    for milestone in plan["milestones"]:
        milestone["due_date"] = moved(milestone["due_date"])
    signing, milestone = amount_fen * 3 // 10, amount_fen * 4 // 10
    for share, amount in zip(plan["tranches"], (signing, milestone, amount_fen - signing - milestone), strict=True):
        share["amount_fen"] = amount
    return plan


async def _run(settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=120) as http:
        demo = Demo(settings, http)
        await demo.green_channel_filing()
        await demo.refused_registration()
        contract_no, winner = await demo.fair()
        await demo.delivered_and_rewarded(contract_no, winner)
        await demo.terminated_after_rectification()
        await demo.audit()
        await demo.incubated_filed_and_graduated()
        await demo.base_fills_and_serves_its_waiting_list()


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
    print("\n演示完成：全部案件均按预期办结。", flush=True)
    return 0
