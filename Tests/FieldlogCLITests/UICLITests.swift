import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `fieldlog ui` through the built binary: it prints a one-time login link on a loopback port,
/// which opens the 工作台 once, and not a second time.
@Suite(.serialized) struct UICLITests {
    @Test func theUIPrintsALoginLinkThatOpensTheScreensOnce() async throws {
        let folder = CLI.temporaryFolder("ui")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let county = CLI(home: folder + "/hub")
        try await county.ok(["hub", "init", "--name", "高唐县", "--json"])
        for kind in ["departments", "cadres", "enterprises", "linkages"] {
            try await county.ok(["registry", "import", kind, CLITests.demoData + "/\(kind).csv"])
        }
        let (server, text) = try await CLI.offThePool {
            try CLI.start(["ui", "--port", "0", "--no-open"], home: county.home) {
                $0.contains("token=") && $0.hasSuffix("\n")
            }
        }
        defer { kill(server.processIdentifier, SIGKILL) }
        guard
            let range = text.range(
                of: #"http://127\.0\.0\.1:[0-9]+/login\?token=[0-9a-f]{64}"#,
                options: .regularExpression
            )
        else { throw CLI.Failure(message: "fieldlog ui printed no login link: \(text)") }
        let link = String(text[range])
        // A browser's part, by Python's standard library: the link sets the cookie and leads to
        // the 工作台; the same link again is refused.
        let script = """
            import sys, urllib.request, urllib.error, http.cookiejar
            link = sys.argv[1]
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            page = opener.open(link).read().decode()
            assert "工作台" in page and "高唐县 · 运维" in page, page[:400]
            try:
                urllib.request.urlopen(link)
                print("the link opened twice")
            except urllib.error.HTTPError as error:
                assert error.code == 403, error.code
                print("ok")
            """
        let result = try await CLI.offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, link]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(result.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(result)")
    }
}
