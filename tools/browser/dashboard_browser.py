#!/usr/bin/env python3
"""The hub's console in a real browser (Debian's chromium and chromium-driver, driven by Selenium).

A hub is made with the fieldlog binary (the departments and cadres imported with the CLI, two
console accounts), and served with `hub serve --dashboard` on loopback. Then, in headless chromium:

1. the operator 李运维 logs in, imports the enterprises and the linkages on 登记管理 (each
   previewed line by line, then confirmed), and makes a one-time enrollment code on 设备与同步;
2. a laptop (the CLI) enrolls with that code, registers two demands and syncs; the hub assigns
   them to two departments;
3. 设备与同步 shows the laptop with its last sync and the commits it pushed;
4. the supervisor 张督查 logs in, filters 工作台账 by one lead department and downloads exactly
   those rows as .xlsx; openpyxl reads the file and finds the one demand, and who exported it;
5. 月调度 printed by chromium (its PDF, the page size the style sheet asks) is A4 landscape;
6. the laptop's folder is copied to a second computer (one key on two laptops): each writes a visit,
   the copy one more, both sync, and the hub finds the fork; the operator opens 设备与同步, picks the
   copy's branch on 决定恢复哪一分支, types the device code, and the copy's visits count again;
   the original laptop, after syncing, shows them too.

With --screenshots DIR the main pages are saved there as PNG (docs/dashboard.md shows them).
Exit 0 when every check holds; otherwise the first failed check is printed and the exit is 1.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_browser import DATA, ROOT, County, Page, browser, check  # noqa: E402

OPERATOR = ("李运维", "operator-password-1")
SUPERVISOR = ("张督查", "supervisor-password-1")


class Console(Page):
    """The console in the browser, for one person at a time."""

    def __init__(self, driver, base, shots):
        self.driver = driver
        self.base = base
        self.shots = shots

    def get(self, path):
        self.driver.get(self.base + path)

    def shot(self, name):
        if self.shots:
            self.driver.set_window_size(1400, max(1000, self.driver.execute_script("return document.body.scrollHeight") + 40))
            self.driver.save_screenshot(str(Path(self.shots) / f"dashboard-{name}.png"))
            self.driver.set_window_size(1400, 1000)

    def login(self, name, password):
        self.driver.delete_all_cookies()
        self.get("/login")
        self.wait_text("动态验证码")
        # From the keyboard alone: the name, Tab to the password, Enter sends the form.
        from selenium.webdriver.common.keys import Keys

        self.by_id("name").send_keys(name + Keys.TAB + password + Keys.ENTER)
        self.wait_text("诉求状态")

    def logout(self):
        self.css("form.logout button[type=submit]").click()
        self.wait_text("用户名")

    def import_file(self, kind, label, path):
        self.get(f"/registry?kind={kind}")
        self.select("kind", label)
        self.by_id("file").send_keys(str(path))
        self.css("form[action='/registry/import'] button[type=submit]").click()
        self.wait_text("有错误的行 0 行")
        return self.text()


def run(binary, shots):
    work = tempfile.mkdtemp(prefix="fieldlog-console-browser-")
    county = County(binary, work)
    driver = None
    downloads = Path(work) / "downloads"
    downloads.mkdir()
    try:
        county.run("operator", "init")
        county.run("operator", "county", "create", "--name", "高唐县")
        root = county.json("operator", "status")["rootFingerprint"]
        for kind in ["departments", "cadres"]:
            county.run("operator", "registry", "import", kind, str(DATA / f"{kind}.csv"))
        for (name, password), role in [(OPERATOR, "operator"), (SUPERVISOR, "supervisor")]:
            subprocess.run(
                [binary, "hub", "user", "add", name, "--role", role],
                env={**county.env, "FIELDLOG_HOME": county.home("operator"), "FIELDLOG_USER_PASSWORD": password},
                check=True,
                capture_output=True,
            )
        process = subprocess.Popen(
            [binary, "hub", "serve", "--port", "0", "--dashboard", "--dashboard-port", "0"],
            env={**county.env, "FIELDLOG_HOME": county.home("operator")},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        county.processes.append(process)
        hub = console_url = None
        for line in process.stdout:
            if "hub listening on" in line:
                hub = line.split()[-1]
            if "dashboard listening on" in line:
                console_url = line.split()[-1]
            if hub and console_url:
                break
        check(hub and console_url, "the hub did not say where it and its console listen")

        driver = browser(downloads)
        console = Console(driver, console_url, shots)

        # 1. The operator imports the enterprises and the linkages, then makes an enrollment code.
        driver.get(console_url + "/login")
        console.wait_text("动态验证码")
        console.shot("login")
        console.login(*OPERATOR)
        check("登记管理" in console.text(), "an operator's navigation has 登记管理")
        preview = console.import_file("enterprises", "企业", DATA / "enterprises.csv")
        check("新增 7 行" in preview, f"the preview does not plan 7 new enterprises: {preview[:400]}")
        console.shot("import-preview")
        console.css("form[action='/registry/import/commit'] button[type=submit]").click()
        console.wait_text("已导入“enterprises.csv”")
        console.import_file("linkages", "包联关系", DATA / "linkages.csv")
        console.css("form[action='/registry/import/commit'] button[type=submit]").click()
        console.wait_text("已导入“linkages.csv”")
        console.shot("registry")
        print("the operator imported the enterprises and the linkages, each previewed first")

        console.get("/devices/enroll")
        console.select("role", "包联干部")
        console.select("cadre", "王强")
        console.type("label", "王强的笔记本")
        console.css("form[action='/devices/enroll'] button[type=submit]").click()
        console.wait_text("登记码（只显示这一次）")
        console.shot("enrollment-code")
        code = console.css("p.big strong").text.strip()
        check(f"--hub {hub} --code {code}" in console.text(), "the enrollment command names the hub's address")
        check(len(code) == 14, f"the code {code!r} is not XXXX-XXXX-XXXX")
        print(f"the operator made the enrollment code {code[:4]}-…")

        # 2. A laptop enrolls with it, registers two demands and syncs; the hub assigns them.
        county.run("wang", "init")
        county.run("wang", "enroll", "--hub", hub, "--code", code, "--root-fingerprint", root)
        numbers = []
        for title, category in [("熟练挡车工招聘难", "用工"), ("厂区变压器增容", "水电气热")]:
            numbers.append(
                county.json(
                    "wang", "demand", "add", "--enterprise", "山东高唐纺织有限公司", "--title", title,
                    "--content", title + "，请协调。", "--category", category,
                )["number"]
            )
            county.run("wang", "demand", "submit", numbers[-1])
        county.run("wang", "sync")
        county.run("operator", "demand", "assign", numbers[0], "--lead", "县市场监管局")
        county.run("operator", "demand", "assign", numbers[1], "--lead", "县住房城乡建设局")
        print(f"the laptop enrolled, registered {numbers} and synced; the hub assigned them")

        # 3. 设备与同步 shows the laptop's sync (the hub writes what it saw every 5 seconds).
        console.get("/devices")
        console.wait(
            lambda: "王强的笔记本" in console.text() or ("王强" in console.text() and "从未" not in row_of(console, "王强")),
            "the laptop's sync on 设备与同步",
            seconds=30,
            reload=True,
        )
        row = row_of(console, "王强")
        check("从未" not in row, f"the laptop's row shows no sync: {row}")
        console.shot("devices")
        print(f"设备与同步 shows the laptop: {row}")
        console.logout()

        # 4. The supervisor filters the ledger by one department and downloads exactly that.
        console.login(*SUPERVISOR)
        console.shot("overview")
        console.get("/ledger")
        console.wait_text("共 2 条")
        console.select("lead", "县市场监管局")
        console.css("form.filters button[type=submit]").click()
        console.wait_text("共 1 条")
        check(numbers[0] in console.text() and numbers[1] not in console.text(), "the filter shows the one demand")
        console.shot("ledger")
        console.by_id("export-ledger").click()
        console.wait_text("已导出并由县枢纽密钥签名", seconds=120)
        console.shot("export")
        console.by_id("download-file").click()
        console.wait(lambda: any(p.suffix == ".xlsx" for p in downloads.iterdir()), "the download")
        workbook_path = next(p for p in downloads.iterdir() if p.suffix == ".xlsx")
        from openpyxl import load_workbook

        book = load_workbook(workbook_path, read_only=True)
        rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        check(rows[0][0] == "序号" and "牵头单位" in rows[0], f"the header is {rows[0]}")
        data = rows[1:]
        check(len(data) == 1, f"the file holds {len(data)} rows, the view 1")
        check(numbers[0] in [str(cell) for cell in data[0]], f"{numbers[0]} is not the row: {data[0]}")
        check("县市场监管局" in [str(cell) for cell in data[0]], "the lead department is not in the row")
        about = {row[0]: row[1] for row in book.worksheets[1].iter_rows(values_only=True)}
        check(about.get("导出人", "").startswith("张督查"), f"导出说明 names {about.get('导出人')}")
        print(f"the supervisor downloaded {workbook_path.name}; openpyxl read exactly the filtered row")
        # 月调度 prints on A4 landscape: chromium's own PDF, with the page size the style sheet asks.
        console.get("/monthly")
        console.wait_text("按单位")
        console.shot("monthly")
        import base64
        import re

        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
        check(boxes, "the printed 月调度 has no page")
        for box in boxes:
            width, height = (float(value) for value in box)
            check(abs(width - 841.9) < 2 and abs(height - 595.3) < 2, f"a printed page is {width} x {height} pt, not A4 landscape")
        print(f"月调度 printed on {len(boxes)} A4 landscape page(s)")
        console.logout()

        # 6. One key on two laptops: the hub finds the fork, the operator readmits the copy's branch.
        shutil.copytree(county.home("wang"), county.home("wang-copy"))
        county.run("wang", "visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", "原机走访")
        for topics in ["复制机走访一", "复制机走访二"]:
            county.run("wang-copy", "visit", "add", "--enterprise", "山东高唐纺织有限公司", "--topics", topics)
        county.run("wang", "sync")
        county.run("wang-copy", "sync")
        console.login(*OPERATOR)
        console.get("/devices?status=forked")
        console.wait_text("决定恢复哪一分支")
        code = row_of(console, "王强").split()[0]
        console.css("a[href^='/devices/readmit']").click()
        console.wait_text("要恢复的分支")
        from selenium.webdriver.common.by import By

        branches = console.driver.find_elements(By.CSS_SELECTOR, "input[name=branch]")
        check(len(branches) == 3, f"the form offers {len(branches)} choices, not the two commits and none")
        # The copy's branch: of the commits the hub holds at the fork, the one the copy wrote.
        forks = county.json("operator", "registry", "forks")
        held = forks["forks"][0]["commits"]
        check(len(held) == 2, f"the hub holds {len(held)} commits at the fork")
        mine = county.json("wang-copy", "status")["publicKey"]
        check(forks["forks"][0]["publicKey"] == mine, "the fork is not the cadre's key")
        chosen = copy_branch(county, held)
        console.by_id(f"branch-{chosen[:12]}").click()
        console.type("note", "核实后保留复制的笔记本")
        console.type("confirm", code)
        console.shot("readmit")
        console.css("form[action='/devices/readmit'] button[type=submit]").click()
        console.wait_text("已决定")
        check("已恢复：有效至第" in console.text(), "the fork is not shown as readmitted")
        console.shot("devices-readmitted")
        for _ in range(3):
            county.run("wang", "sync")
        topics = sorted(visit.get("topics") for visit in county.json("wang", "visit", "list"))
        check(topics == ["复制机走访一", "复制机走访二"], f"the original laptop shows {topics}")
        print(f"the operator readmitted the copy's branch {chosen[:12]}; the original laptop shows {topics}")
        console.get("/audit")
        console.wait_text("恢复分叉的数据流")
        console.shot("audit")
        print("PASS the hub's console in a real browser")
        return 0
    except AssertionError as error:
        print(f"FAIL {error}", file=sys.stderr)
        if driver and shots:
            driver.save_screenshot(str(Path(shots) / "dashboard-failure.png"))
        return 1
    finally:
        if driver:
            driver.quit()
        county.stop()
        shutil.rmtree(work, ignore_errors=True)


def copy_branch(county, held):
    """The commit at the fork that the copy wrote: the one its own replica holds in its feed."""
    import sqlite3

    database = Path(county.home("wang-copy")) / "replica.sqlite"
    with sqlite3.connect(database) as db:
        ids = {row[0] for row in db.execute("SELECT lower(hex(id)) FROM _log")}
    mine = [commit for commit in held if commit in ids]
    check(len(mine) == 1, f"the copy holds {len(mine)} of the commits at the fork")
    return mine[0]


def row_of(console, holder):
    """The text of the devices table's row of `holder`."""
    from selenium.webdriver.common.by import By

    for row in console.driver.find_elements(By.CSS_SELECTOR, "table.ledger tbody tr"):
        if holder in row.text:
            return row.text
    return "从未"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release" / "fieldlog"))
    parser.add_argument("--screenshots", help="save PNG screenshots of the main pages in this folder")
    arguments = parser.parse_args()
    if arguments.screenshots:
        Path(arguments.screenshots).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    code = run(arguments.bin, arguments.screenshots)
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)


if __name__ == "__main__":
    main()
