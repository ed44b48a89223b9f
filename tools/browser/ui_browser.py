#!/usr/bin/env python3
"""The screens in a real browser (Debian's chromium and chromium-driver, driven by Selenium).

A county is made with the fieldlog binary: an operator replica serving as the hub on loopback,
cadre 王强's laptop, cadre 李娜's laptop, the coordinator's and a supervisor's. Then, through
`fieldlog ui` in headless chromium:

1. 王强 logs a visit with a demand on 新增走访, finds it in 诉求, corrects it and submits it, and
   syncs with the hub from 同步 (followed live);
2. 李娜 edits the same field on her laptop (CLI) and syncs;
3. 王强 syncs again: the conflict shows on 冲突 and is resolved there, and synced;
4. the coordinator assigns the demand (受理/交办) on 诉求详情;
5. the supervisor exports the 工作台账 as .xlsx from 导出 and downloads it; openpyxl reads it and
   finds the header and the demand.

With --screenshots DIR the main pages are saved there as PNG (docs/ui.md shows them).
Exit 0 when every check holds; otherwise the first failed check is printed and the exit is 1.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tools" / "demo-data"
PASSPHRASE = "browser test passphrase 口令"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class County:
    """The replicas, the hub and the `fieldlog ui` processes of one run."""

    def __init__(self, binary, work):
        self.binary = binary
        self.work = Path(work)
        self.processes = []
        self.env = {**os.environ, "FIELDLOG_PASSPHRASE": PASSPHRASE, "FIELDLOG_LOG_LEVEL": "warning"}

    def home(self, name):
        return str(self.work / name)

    def run(self, home, *args):
        result = subprocess.run(
            [self.binary, *args],
            env={**self.env, "FIELDLOG_HOME": self.home(home)},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise AssertionError(f"fieldlog {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def json(self, home, *args):
        import json

        return json.loads(self.run(home, *args, "--json"))

    def start(self, home, *args, until):
        """Starts a server and returns the first stdout line containing `until`."""
        process = subprocess.Popen(
            [self.binary, *args],
            env={**self.env, "FIELDLOG_HOME": self.home(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.processes.append(process)
        for line in process.stdout:
            if until in line:
                return line.strip()
        raise AssertionError(f"fieldlog {' '.join(args)} exited before printing {until!r}")

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def make_county(county):
    county.run("operator", "init")
    county.run("operator", "county", "create", "--name", "高唐县")
    root = county.json("operator", "status")["rootFingerprint"]
    for kind in ["departments", "cadres", "enterprises", "linkages"]:
        county.run("operator", "registry", "import", kind, str(DATA / f"{kind}.csv"))
    line = county.start("operator", "hub", "serve", "--port", "0", until="listening on")
    hub = line.split()[-1]
    enrollments = {
        "wang": ["--role", "cadre", "--cadre", "王强"],
        "li": ["--role", "cadre", "--cadre", "李娜"],
        "coordinator": ["--role", "coordinator", "--label", "县营商办"],
        "supervisor": ["--role", "supervisor", "--label", "督查室"],
    }
    for home, role in enrollments.items():
        county.run(home, "init")
        code = county.json("operator", "hub", "enroll-code", *role)["code"]
        county.run(home, "enroll", "--hub", hub, "--code", code, "--root-fingerprint", root)
    return hub


def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False, "intl.accept_languages": "zh-CN"},
    )
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


class Page:
    """What both the screens' and the console's tests do in the browser: wait, read, fill in."""

    driver = None

    def wait(self, condition, what, seconds=60, reload=False):
        """Waits for `condition`, reloading the page between looks when `reload`."""
        from selenium.webdriver.support.ui import WebDriverWait

        def holds(_):
            if condition():
                return True
            if reload:
                self.driver.refresh()
            return False

        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=1 if reload else 0.5).until(holds)
        except Exception as error:
            raise AssertionError(f"waited {seconds} s for {what}; the page shows: {self.text()[:600]}") from error

    def text(self):
        """The page's text; empty while the page is being replaced (the live sync reloads it)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By

        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def wait_text(self, text, seconds=60):
        self.wait(lambda: text in self.text(), repr(text), seconds)

    def by_id(self, name):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, name)

    def css(self, selector):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def select(self, name, label):
        from selenium.webdriver.support.ui import Select

        Select(self.by_id(name)).select_by_visible_text(label)

    def type(self, name, text):
        field = self.by_id(name)
        field.clear()
        field.send_keys(text)


class Screens(Page):
    """One person's `fieldlog ui` in the browser."""

    def __init__(self, county, driver, home, shots):
        self.driver = driver
        self.shots = shots
        line = county.start(home, "ui", "--port", "0", "--no-open", until="/login?token=")
        self.login = line
        self.base = line.split("/login?")[0]

    def open(self):
        # Cookies do not tell ports apart: this person's session cookie replaces the last one's,
        # so each person's screens are used in one stretch.
        self.driver.get(self.login)
        self.wait_text("工作台")

    def get(self, path):
        self.driver.get(self.base + path)

    def shot(self, name):
        if self.shots:
            self.driver.save_screenshot(str(Path(self.shots) / f"{name}.png"))

    def sync(self, hub=None):
        self.get("/sync")
        if hub:
            self.type("hub-address", hub)
        self.by_id("sync-now").click()
        # The page after the click follows the sync live and reloads when it ends; a sync that
        # ended before the page was drawn shows its result at once.
        self.wait(lambda: "最近一次同步" in self.text() and "正在同步" not in self.text(), "the sync to end")
        check("连不上" not in self.text() and "未完成" not in self.text(), f"the sync failed: {self.text()[:400]}")


def run(binary, shots):
    work = tempfile.mkdtemp(prefix="fieldlog-browser-")
    downloads = Path(work) / "downloads"
    downloads.mkdir()
    county = County(binary, work)
    driver = None
    try:
        hub = make_county(county)
        print(f"county made: hub at {hub}, four laptops enrolled")
        driver = browser(downloads)

        # 1. 王强: a visit with a demand, found, corrected, submitted, synced.
        wang = Screens(county, driver, "wang", shots)
        wang.open()
        wang.get("/visits/new")
        wang.select("enterprise", "山东高唐纺织有限公司")
        wang.by_id("serviceDay").click()
        wang.type("topics", "用工")
        wang.type("title1", "熟练挡车工招聘难")
        wang.type("content1", "新上两条生产线，急需熟练挡车工")
        wang.select("category1", "用工")
        wang.shot("visit")
        wang.css("form.visit button[type=submit]").click()
        wang.wait_text("走访记录已保存")
        wang.get("/demands?text=" + "挡车工")
        wang.wait_text("共 1 条")
        wang.shot("demands")
        from selenium.webdriver.common.by import By

        link = driver.find_element(By.CSS_SELECTOR, "table.demands a")
        number = link.text
        link.click()
        wang.wait_text("修改诉求内容")
        wang.css("form.action input[value=submit] ~ fieldset button").click()
        wang.wait_text("已办理")
        check("待受理" in wang.text(), "the demand was not submitted")
        wang.sync(hub)
        check("发出" in wang.text(), "the first sync sent nothing")
        wang.shot("sync")
        print(f"王强 logged {number}, found it, submitted it and synced")

        # 2. Both cadres correct its title apart: 王强 in the browser, 李娜 on her laptop (CLI).
        county.run("li", "sync", "--hub", hub)
        wang.get(f"/demands/{number}")
        wang.type("edit-title", "熟练挡车工招聘难（50名）")
        wang.type("edit-comment", "补充人数")
        wang.css("form[action$='/edit'] button").click()
        wang.wait_text("已保存修改")
        wang.shot("demand")
        wang.get("/")
        wang.shot("home-cadre")
        driver.find_element(By.CSS_SELECTOR, "table.enterprises a").click()
        wang.wait_text("包联领导")
        check(number in wang.text(), "企业详情 does not list the demand")
        wang.shot("enterprise")
        county.run("li", "demand", "edit", number, "--title", "纺织企业用工缺口", "--comment", "协包领导核实")
        county.run("li", "sync", "--hub", hub)

        # 3. 王强 syncs: the conflict shows and is resolved in the browser.
        wang.sync()
        check("新出现字段冲突 1 处" in wang.text(), f"no new conflict reported: {wang.text()[:400]}")
        wang.get("/conflicts")
        wang.wait_text("纺织企业用工缺口")
        wang.shot("conflicts")
        rows = driver.find_elements(By.CSS_SELECTOR, "section.conflict tr")
        chosen = next(row for row in rows if "纺织企业用工缺口" in row.text)
        chosen.find_element(By.CSS_SELECTOR, "button").click()
        wang.wait_text("冲突已裁定")
        check("没有未决的字段冲突" in wang.text(), "the conflict is still open")
        wang.sync()
        print("the conflict showed in the browser and was resolved there")

        # 4. The coordinator assigns the demand.
        coordinator = Screens(county, driver, "coordinator", shots)
        coordinator.open()
        coordinator.sync()
        coordinator.get("/demands?view=intake")
        coordinator.wait_text("共 1 条")
        coordinator.shot("intake")
        coordinator.get(f"/demands/{number}")
        coordinator.wait_text("纺织企业用工缺口")
        coordinator.select("assign-lead", "县人力资源社会保障局")
        coordinator.css("form.action input[value=assign] ~ fieldset button").click()
        coordinator.wait_text("已办理")
        check("待签收" in coordinator.text(), f"not assigned: {coordinator.text()[:400]}")
        coordinator.shot("assign")
        coordinator.sync()
        print("the coordinator assigned it to 县人力资源社会保障局")

        # 5. The supervisor downloads the ledger; openpyxl reads it.
        supervisor = Screens(county, driver, "supervisor", shots)
        supervisor.open()
        supervisor.sync()
        supervisor.shot("home")
        supervisor.get("/rates")
        supervisor.wait_text("按时办结率")
        supervisor.shot("rates")
        supervisor.get("/export")
        supervisor.by_id("export-ledger").click()
        supervisor.wait_text("已导出并签名")
        supervisor.shot("export")
        supervisor.by_id("download-file").click()
        supervisor.wait(lambda: any(p.suffix == ".xlsx" for p in downloads.iterdir()), "the download")
        workbook_path = next(p for p in downloads.iterdir() if p.suffix == ".xlsx")
        from openpyxl import load_workbook

        sheet = load_workbook(workbook_path, read_only=True).worksheets[0]
        rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
        header = next(row for row in rows if row and row[0] == "序号")
        check("诉求编号" in header and "牵头单位" in header, f"the header is {header}")
        found = [row for row in rows if number in [str(cell) for cell in row]]
        check(found, f"{number} is not in the downloaded ledger")
        check("待签收" in [str(cell) for cell in found[0]], f"the state after the assignment is not in {found[0]}")
        check("县人力资源社会保障局" in [str(cell) for cell in found[0]], "the lead department is not in the ledger")
        print(f"the supervisor downloaded {workbook_path.name}; openpyxl read {len(rows)} rows with the header")
        print("PASS the screens in a real browser")
        return 0
    except AssertionError as error:
        print(f"FAIL {error}", file=sys.stderr)
        if driver and shots:
            driver.save_screenshot(str(Path(shots) / "failure.png"))
        return 1
    finally:
        if driver:
            driver.quit()
        county.stop()
        shutil.rmtree(work, ignore_errors=True)


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
