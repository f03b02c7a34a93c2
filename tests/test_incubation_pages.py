"""The incubation pages in a real browser (Debian's Chromium driven by Playwright) on a phone-sized screen, over a
time-skipping Temporal server: the public base page showing its free places, a group signing in and applying,
the base admitting it with a mentor and services of its own, the mentor's report, the group filing (备案) from
inside incubation with both cases linked, the base's 出壳评估 on the policy's criteria, civil affairs agreeing,
and the 出壳证书 read; another group, a mentor of another base and the public reach nothing and change nothing;
axe-core finds no serious or critical problem on any page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest_asyncio
from playwright.async_api import Page

from api.app import create_app
from schemas.accounts import AccountInput
from schemas.case import Phase, TaskStatus
from schemas.incubation_case import IncubationPhase, IncubationState
from schemas.people import Actor, Role
from service import incubation_views as iv
from service import views
from service.accounts import AccountService
from service.incubation import IncubationService
from tests.browser import (
    PASSWORD,
    PHONE,
    checked,
    fill_application,
    fresh_sign_in,
    serving,
    until_shown,
)
from tests.conftest import Skipping
from tests.helpers import until_incubation, until_state

GROUP = "grp-wang"
OTHER_GROUP = "grp-li"
STAFF = "fh-piao"
MENTOR = "ds-han"
OTHER_MENTOR = "ds-li"
BRANCH_MENTOR = "ds-cui"
CIVIL_AFFAIRS = "mz-chen"
PEOPLE = {
    GROUP: "王芳",
    OTHER_GROUP: "李明",
    STAFF: "朴美玲",
    MENTOR: "韩雪梅",
    OTHER_MENTOR: "李文静",
    BRANCH_MENTOR: "崔明哲",
    CIVIL_AFFAIRS: "陈洁",
}
GROUP_NAME = "春光社区银发读书会"


@dataclass
class Desk:
    url: str
    skipping: Skipping


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(skipping: Skipping) -> AsyncIterator[Desk]:
    """The whole app over the module's time-skipping server, with accounts for the group, the base and overseers."""
    accounts = AccountService(skipping.settings, skipping.engine)
    for user_id, name in PEOPLE.items():
        accounts.open_account(AccountInput(user_id=user_id, name=name, password=PASSWORD), by="test")
    async with serving(create_app(service=skipping.service)) as url:
        yield Desk(url, skipping)


async def as_user(page: Page, desk: Desk, user_id: str, then: str) -> None:
    await fresh_sign_in(page, desk.url, user_id, then)


def pending(state: IncubationState, step: str) -> bool:
    return any(t.step == step and t.status is TaskStatus.open for t in state.tasks)


async def refused_as_not_found(page: Page, desk: Desk, path: str, form: dict[str, str] | None = None) -> None:
    """The page (or a form posted to it) answers 404 in words, as for a case that does not exist."""
    if form is None:
        response = await page.goto(desk.url + path)
        assert response is not None and response.status == 404, path
        assert "不存在" in await page.get_by_role("main").inner_text()
        return
    token = await page.locator("input[name=csrf_token]").first.input_value()
    response = await page.request.post(desk.url + path, form={"csrf_token": token, **form})
    assert response.status == 404 and "不存在" in await response.text(), path


async def test_a_group_applies_is_admitted_files_from_inside_and_graduates_with_a_certificate(
    desk: Desk, page: Page
) -> None:
    skipping, client = desk.skipping, desk.skipping.env.client

    # the public sees every base, headquarters first, with its free places
    await page.set_viewport_size(PHONE)
    await page.goto(desk.url + "/bases")
    cards = page.locator("li.base")
    assert "延吉市社会组织孵化及创新服务基地" in await cards.first.inner_text()
    assert "空余席位 8 个（共 8 个）" in await cards.first.inner_text()
    await checked(page, "incubation-bases-public")
    await page.get_by_role("link", name="延吉市社会组织孵化及创新服务基地").click()
    main = await page.get_by_role("main").inner_text()
    assert "崔明哲" in main and "备案登记指导" in main and "空余席位 8 个" in main
    await checked(page, "incubation-base-public")

    # the group signs in from the base page and applies; a refused form keeps what was typed
    await page.get_by_role("link", name="登录后申请入孵").click()
    await page.get_by_label("用户名").fill(GROUP)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url(desk.url + "/bases/YJ-FH/apply")
    assert "按规定为6至12个月" in await page.get_by_role("main").inner_text()
    await page.get_by_label("组织或团队名称").fill(GROUP_NAME)
    await page.get_by_label("入孵计划").fill("读书")
    await page.locator("#plan").evaluate("e => e.removeAttribute('minlength')")  # as a browser without checks sends it
    await page.get_by_role("button", name="提交入孵申请").click()
    assert "入孵计划" in await page.get_by_role("alert").inner_text()
    assert await page.get_by_label("组织或团队名称").input_value() == GROUP_NAME, "what was typed is kept"
    await checked(page, "incubation-apply-refused")
    await page.get_by_label("入孵计划").fill("每周开展一次老年人读书分享会，学习章程制定、财务管理和备案办理")
    await page.get_by_role("button", name="提交入孵申请").click()
    await page.wait_for_url(re.compile(r"/my/incubations/[^/?]+\?done=applied"))
    case_no = page.url.split("/my/incubations/")[1].split("?")[0]
    await until_shown(page, "入孵审核中")
    await checked(page, "incubation-group-applied")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的孵化").click()
    assert GROUP_NAME in await page.get_by_role("main").inner_text()
    await checked(page, "incubation-my-list")

    # the base's A岗 admits it with a mentor and services of the base; a refusal without reasons is refused
    await as_user(page, desk, STAFF, "/work/incubations")
    await page.get_by_role("link", name=GROUP_NAME).click()
    await until_shown(page, "入孵审核")
    form = page.get_by_role("region", name="入孵审核")
    await form.get_by_role("radio", name="不予入孵").check()
    await form.get_by_role("button", name="提交审核意见").click()
    assert "理由" in await page.get_by_role("alert").inner_text()
    assert (await until_incubation(client, case_no, lambda s: True)).phase is IncubationPhase.applied, "nothing changed"
    await form.get_by_role("radio", name="准予入孵").check()
    await form.get_by_label("导师", exact=True).select_option(label="韩雪梅（财务管理）")
    await form.get_by_label("财务代理").uncheck()
    await form.get_by_label("服务计划").fill("每月一次能力培训，导师协助制定章程和办理备案")
    await checked(page, "incubation-admission-form")
    await form.get_by_role("button", name="提交审核意见").click()
    await page.wait_for_url(re.compile(r"done=admission"))
    admitted = await until_incubation(client, case_no, lambda s: pending(s, "check_in"))
    assert admitted.mentor is not None and admitted.mentor.user_id == MENTOR
    assert "finance" not in admitted.services and "training" in admitted.services
    await until_shown(page, "导师")
    facts = await page.get_by_role("region", name="孵化情况").inner_text()
    assert "韩雪梅" in facts and "财务代理" not in facts

    # the mentor finds the report in 待办, which leads to the case, sees the due date and reports
    await as_user(page, desk, MENTOR, "/work/tasks")
    await until_shown(page, "第1次孵化报告")
    await checked(page, "incubation-mentor-tasks")
    await page.get_by_role("main").get_by_role("link", name=GROUP_NAME).click()
    await page.wait_for_url(re.compile(f"/work/incubations/{case_no}$"))
    report = page.get_by_role("region", name="提交孵化报告")
    assert re.search(r"本期报告请于\d{4}年\d{1,2}月\d{1,2}日前提交，还有 \d+ 个工作日", await report.inner_text())
    await report.get_by_label("孵化报告").fill("本月开展读书分享会四次，完成章程初稿，准备备案材料")
    await checked(page, "incubation-mentor-report")
    await report.get_by_role("button", name="提交孵化报告").click()
    await page.wait_for_url(re.compile(r"done=report"))
    await until_shown(page, "已提交 1 份")

    # another group, a mentor of another base, and the public reach nothing and change nothing
    await as_user(page, desk, OTHER_GROUP, "/my/incubations")
    assert GROUP_NAME not in await page.get_by_role("main").inner_text()
    await refused_as_not_found(page, desk, f"/my/incubations/{case_no}")
    await refused_as_not_found(page, desk, f"/my/incubations/{case_no}/exit", {"reasons": "不想参加了"})
    await as_user(page, desk, OTHER_MENTOR, "/work/incubations")
    assert GROUP_NAME not in await page.get_by_role("main").inner_text()
    await refused_as_not_found(page, desk, f"/work/incubations/{case_no}")
    await refused_as_not_found(page, desk, f"/work/incubations/{case_no}/report", {"summary": "代为提交的孵化报告内容"})
    await page.context.clear_cookies()
    await page.goto(f"{desk.url}/my/incubations/{case_no}")
    assert "/sign-in" in page.url, "the public is asked to sign in"
    unchanged = await until_incubation(client, case_no, lambda s: True)
    assert unchanged.reports == 1 and unchanged.phase is IncubationPhase.incubating

    # the group files (备案) from inside its incubation; both cases link to each other
    await as_user(page, desk, GROUP, f"/my/incubations/{case_no}")
    await page.get_by_label("组织所在社区").select_option(value="YJ-JG-CG")
    await page.get_by_label("办理事项").select_option(label="社区社会组织备案")
    await page.get_by_role("button", name="申请备案/登记").click()
    await page.wait_for_url(re.compile(rf"/apply/YJ-JG-CG/filing\?incubation={case_no}"))
    assert case_no in await page.get_by_role("main").inner_text()
    await fill_application(page, GROUP_NAME, "incubation-")
    await page.get_by_role("button", name="提交申请").click()
    await page.wait_for_url(re.compile(r"done=filed"))
    filing_no = (await until_incubation(client, case_no, lambda s: bool(s.filings))).filings[0].case_no
    await until_shown(page, filing_no)
    await checked(page, "incubation-group-filed")
    await page.get_by_role("link", name=f"案号 {filing_no}").click()
    await page.wait_for_url(f"{desk.url}/my/cases/{filing_no}")
    back = page.get_by_role("link", name=case_no)
    assert await back.get_attribute("href") == f"/my/incubations/{case_no}"
    assert "本案从孵化案件" in await page.get_by_role("main").inner_text()

    # the filing is approved by the bureau's staff; the reports go on until the term ends
    service = skipping.service
    await until_state(client, filing_no, lambda s: s.phase is Phase.preliminary_review)
    decide = service.decide
    await decide(service.actor("cg-zhao"), filing_no, views.DecisionInput(step="preliminary_review", outcome="approve"))
    await decide(service.actor("jg-zhou"), filing_no, views.DecisionInput(step="authority_review", outcome="approve"))
    await skipping.sleep(timedelta(days=9))
    await until_state(client, filing_no, lambda s: s.phase is Phase.decision)
    await decide(service.actor("jg-zhou"), filing_no, views.DecisionInput(step="decision", outcome="approve"))
    await until_incubation(client, case_no, lambda s: s.organization == filing_no)
    incubations = IncubationService(skipping.settings, skipping.engine, client)
    mentor = service.actor(MENTOR)
    for _ in range(40):
        state = await until_incubation(client, case_no, lambda s: s.settled_revision == s.revision)
        if pending(state, "assessment"):
            break
        if pending(state, "check_in"):
            await incubations.report(mentor, case_no, "本期继续开展读书分享会，成员稳定，账目清楚")
        else:
            await skipping.sleep(timedelta(days=14))
    else:
        raise AssertionError("the assessment never opened")

    # the base assesses on the policy's criteria; civil affairs agrees; the group has graduated
    await as_user(page, desk, STAFF, f"/work/incubations/{case_no}")
    assessment = page.get_by_role("region", name="出壳评估")
    for criterion in await assessment.get_by_role("checkbox").all():
        await criterion.check()
    await assessment.get_by_role("radio", name="准予出壳").check()
    await checked(page, "incubation-assessment-form")
    await assessment.get_by_role("button", name="提交评估结论").click()
    await page.wait_for_url(re.compile(r"done=assessment"))
    await until_incubation(client, case_no, lambda s: pending(s, "assessment_review"))

    await as_user(page, desk, CIVIL_AFFAIRS, "/work/tasks")
    task = page.locator(f'a[href="/work/incubations/{case_no}"]')
    assert await task.count() == 1, "the review task in 待办 leads to the incubation"
    await page.goto(f"{desk.url}/work/cases/{filing_no}")
    assert await page.get_by_role("link", name=case_no).get_attribute("href") == f"/work/incubations/{case_no}"
    await page.goto(f"{desk.url}/work/incubations")
    await page.get_by_label("孵化基地").select_option(value="YJ-FH")
    await page.get_by_role("button", name="筛选").click()
    await checked(page, "incubation-civil-affairs-list")
    await page.get_by_role("link", name=GROUP_NAME).click()
    review = page.get_by_role("region", name="审核出壳评估")
    assert "准予出壳" in await review.inner_text()
    await review.get_by_role("radio", name="同意基地的评估结论").check()
    await checked(page, "incubation-civil-affairs-review")
    await review.get_by_role("button", name="提交审核意见").click()
    await page.wait_for_url(re.compile(r"done=review"))
    await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.graduated)

    await as_user(page, desk, GROUP, f"/my/incubations/{case_no}")
    await until_shown(page, "出壳证书")
    line = await page.get_by_role("region", name="孵化进度").inner_text()
    assert "出壳" in line and "正在进行" not in line
    assert "入孵协议" in await page.get_by_role("region", name="文书").inner_text()
    await checked(page, "incubation-group-graduated")
    certificate = await page.get_by_role("link", name="下载 PDF：出壳证书").get_attribute("href")
    assert certificate
    served = await page.request.get(desk.url + certificate)
    assert served.ok and (await served.body()).startswith(b"%PDF"), "the certificate is a PDF the group can keep"



async def test_a_full_base_lists_the_next_group_in_words_and_in_order(desk: Desk, page: Page) -> None:
    """建工 branch has two places: once both are taken, the group the base admits next waits, and everyone
    reads its position: the group on its page, the base in its list, the public on the base page."""
    skipping, client = desk.skipping, desk.skipping.env.client
    incubations = IncubationService(skipping.settings, skipping.engine, client)
    staff = skipping.service.actor(STAFF)
    for n, name in enumerate(("民安邻里互助队", "建工太极拳队")):
        group = Actor(user_id=f"grp-full-{n}", name="张秀兰", role=Role.applicant)
        application = iv.IncubationApplicationInput(
            base_code="YJ-JG-FH", group_name=name, plan="开展邻里互助和健身活动，学习备案和财务管理", term_months=6
        )
        receipt = await incubations.apply(group, application)
        await until_incubation(client, receipt.case_no, lambda s: pending(s, "admission"))
        await incubations.decide_admission(staff, receipt.case_no, True, [])
        await until_incubation(client, receipt.case_no, lambda s: s.phase is IncubationPhase.incubating)

    await as_user(page, desk, OTHER_GROUP, "/bases/YJ-JG-FH/apply")
    assert "席位已满（共 2 个），现在申请将列入候补名单" in await page.get_by_role("main").inner_text()
    await page.get_by_label("组织或团队名称").fill("春光社区手工编织队")
    await page.get_by_label("入孵计划").fill("组织社区妇女开展手工编织公益活动，学习备案办理")
    await page.get_by_role("button", name="提交入孵申请").click()
    await page.wait_for_url(re.compile(r"done=applied"))
    case_no = page.url.split("/my/incubations/")[1].split("?")[0]
    await until_incubation(client, case_no, lambda s: pending(s, "admission"))
    await incubations.decide_admission(staff, case_no, True, [])
    await until_shown(page, "您在候补名单第 1 位，有席位空出时将首先递补")
    assert "候补" in await page.get_by_role("region", name="孵化进度").inner_text()
    await checked(page, "incubation-group-waiting")

    await as_user(page, desk, STAFF, "/work/incubations")
    queue = await page.get_by_role("region", name="候补名单").inner_text()
    assert "第 1 位：春光社区手工编织队" in queue
    await checked(page, "incubation-staff-list")

    await page.context.clear_cookies()
    await page.goto(desk.url + "/bases/YJ-JG-FH")
    assert "席位已满（共 2 个），1 个团队在候补" in await page.get_by_role("main").inner_text()
    await checked(page, "incubation-base-full")

    # a report not in by its due date is late, in words and in colour, on the mentor's form
    await skipping.sleep(timedelta(days=40))
    await as_user(page, desk, BRANCH_MENTOR, "/work/incubations")
    await page.get_by_role("link", name="民安邻里互助队").click()
    late = page.get_by_role("region", name="提交孵化报告").locator(".notice.error")
    await until_shown(page, "本期报告已逾期")
    assert "逾期的报告会被记录" in await late.inner_text()
    await checked(page, "incubation-mentor-report-late")

    # the waiting group leaves with its reasons
    await as_user(page, desk, OTHER_GROUP, f"/my/incubations/{case_no}")
    await page.get_by_label("退出理由（必填，每行一条）").fill("成员另有安排，暂不入孵")
    await page.get_by_role("button", name="退出孵化").click()
    await page.wait_for_url(re.compile(r"done=exit"))
    gone = await until_incubation(client, case_no, lambda s: s.phase is IncubationPhase.exited)
    assert gone.reasons == ["成员另有安排，暂不入孵"]
    await until_shown(page, "已退出孵化")
