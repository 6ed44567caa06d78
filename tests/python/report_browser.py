#!/usr/bin/env python3
"""Open an HTML file in headless Chromium (Debian's) and check it as a reader would see it:
no console error or uncaught exception, every <svg> chart laid out with a size and something
drawn in it, no horizontal overflow at the given width; keep a full-page screenshot.

usage: report_browser.py FILE.html SCREENSHOT.png [WIDTH]
Prints one line per problem and exits 1, or prints "ok" (with what it measured) and exits 0.
Chromium's own messages go to SCREENSHOT.png.chromium.log, beside the screenshot.

Chromium is driven over its DevTools protocol on a pipe (--remote-debugging-pipe: file
descriptors 3 and 4, NUL-terminated JSON messages), with the standard library only: no
WebDriver, no npm package, no port to collide with other tests. The browser runs with a fresh
profile and without any network access of its own (the report is one self-contained file)."""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 60.0

CHECK_JS = r"""
(() => {
  const svgs = [...document.querySelectorAll('svg')];
  const charts = svgs.map(s => {
    const r = s.getBoundingClientRect();
    const drawn = s.querySelectorAll('line,polyline,path,rect,circle,text').length;
    return {id: s.id || '(no id)', width: r.width, height: r.height, drawn: drawn,
            right: r.right + window.scrollX};
  });
  const wide = [...document.body.querySelectorAll('*')]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                         (e.className && e.className.baseVal === undefined && e.className ?
                          '.' + e.className : ''));
  return JSON.stringify({
    title: document.title, charts: charts, viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight, wide: wide});
})()
"""


class Browser:
    def __init__(self, width, log_path):
        self.profile = tempfile.mkdtemp(prefix="tinchap-chromium-")
        # a file, not a pipe: a pipe read only after Chromium exits would fill and block it
        self.log_path = log_path
        self.log = open(log_path, "wb")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():  # the child reads commands on 3 and writes answers on 4
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)  # above 4: no clobbering
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "--window-size=%d,900" % width, "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=fds, pass_fds=(3, 4, to_browser_r, from_browser_w),
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id)

    def wait(self, pred, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if "method" in m:
                    self.events.append(m)
                if pred(m):
                    if "error" in m:
                        raise RuntimeError("%s" % m["error"])
                    return m
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in %.0f s" % timeout)
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                with open(self.log_path, "rb") as f:
                    err = f.read().decode(errors="replace")[-2000:]
                raise RuntimeError("Chromium exited: " + err)
            self.buf += chunk

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def check(path, shot, width):
    b = Browser(width, shot + ".chromium.log")
    problems = []
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            b.send(domain + ".enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
        b.send("Page.navigate", {"url": "file://" + os.path.abspath(path)}, session=s)
        b.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == s)
        r = b.send("Runtime.evaluate", {"expression": CHECK_JS, "returnByValue": True}, session=s)
        page = json.loads(r["result"]["result"]["value"])
        for e in b.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                problems.append("console error: %s" % " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif e["method"] == "Runtime.exceptionThrown":
                problems.append("uncaught exception: %s" % p["exceptionDetails"].get("text"))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                problems.append("console error: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        if not page["charts"]:
            problems.append("no <svg> chart on the page")
        for c in page["charts"]:
            if not (c["width"] > 0 and c["height"] > 0) or c["drawn"] == 0:
                problems.append("chart %s is empty (%gx%g, %d shapes)" % (c["id"], c["width"], c["height"], c["drawn"]))
        if page["scrollWidth"] > page["viewport"]:
            problems.append("horizontal overflow at %d px: the page is %d px wide (%s)" % (
                page["viewport"], page["scrollWidth"], ", ".join(page["wide"])))
        height = min(int(page["height"]), 16000)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=s)
        png = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                     session=s)["result"]["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
    finally:
        b.close()
    return problems, page


def main():
    path, shot = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1280
    problems, page = check(path, shot, width)
    if problems:
        print("\n".join(problems))
        return 1
    print("ok: %d charts, %d px wide at a %d px viewport, %d px tall; screenshot %s" % (
        len(page["charts"]), page["scrollWidth"], page["viewport"], page["height"], shot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
