import ArgumentParser
import FieldLedger
import Foundation
import Testing

@testable import fieldlog

/// Every command line the README and docs/ show parses as written, with the parser the binary
/// uses: a renamed option or command cannot leave the documentation behind. (Every command of
/// "Running the hub" once failed as written: `--data` came before the command's name.)
@Suite struct DocumentedCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `fieldlog …` lines of the code blocks of a Markdown file (but blocks marked `text`:
    /// diagrams, signed messages), comments cut, with the line number; lines written as notation
    /// (`[--opt]`, `a|b`, `…`) are usage, not command lines.
    static func commandLines(in file: String) throws -> [(line: Int, arguments: [String])] {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        var inBlock = false
        var isText = false
        var out: [(Int, [String])] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") {
                inBlock.toggle()
                isText = inBlock && line == "```text"
                continue
            }
            guard inBlock, !isText else { continue }
            for segment in Self.stripComment(line).components(separatedBy: " && ").flatMap({
                $0.components(separatedBy: " | ")
            }) {
                var words = Self.words(segment.trimmingCharacters(in: .whitespaces))
                while let first = words.first, first.contains("="), !first.hasPrefix("-") { words.removeFirst() }
                guard words.first == "fieldlog" else { continue }
                let arguments = Array(words.dropFirst())
                let notation = arguments.contains {
                    $0.hasPrefix("[") || $0.contains("…") || $0.contains("...")
                        || ($0.contains("|") && !$0.hasPrefix("--"))
                }
                if !notation { out.append((index + 1, arguments)) }
            }
        }
        return out
    }

    static func stripComment(_ line: String) -> String {
        var quoted = false
        var out = ""
        for character in line {
            if character == "\"" { quoted.toggle() }
            if character == "#" && !quoted { break }
            out.append(character)
        }
        return out
    }

    /// Shell words: spaces split, double quotes group.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" {
                quoted.toggle()
            } else if character == " " && !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static let files =
        ["README.md"]
        + ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)) ?? [])
        .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }

    @Test(arguments: files)
    func everyDocumentedCommandLineParses(file: String) throws {
        for (line, arguments) in try Self.commandLines(in: file) {
            #expect(throws: Never.self, "\(file):\(line): fieldlog \(arguments.joined(separator: " "))") {
                _ = try Fieldlog.parseAsRoot(Fieldlog.normalizedArguments(arguments))
            }
        }
    }

    @Test func theDocumentsShowCommandLines() throws {
        #expect(try Self.commandLines(in: "docs/operations.md").count >= 20)
        #expect(try Self.commandLines(in: "README.md").count >= 10)
    }

    /// The options every command takes work before the command's name as well as after it.
    @Test func globalOptionsGoBeforeOrAfterTheCommand() throws {
        #expect(
            Fieldlog.normalizedArguments(["--data", "/srv/x", "hub", "init", "--name", "高唐县"]) == [
                "hub", "init", "--name", "高唐县", "--data", "/srv/x",
            ]
        )
        #expect(Fieldlog.normalizedArguments(["--json", "--data=/x", "status"]) == ["status", "--json", "--data=/x"])
        #expect(Fieldlog.normalizedArguments(["status", "--json"]) == ["status", "--json"])
        #expect(Fieldlog.normalizedArguments(["--help"]) == ["--help"])
        _ = try Fieldlog.parseAsRoot(
            Fieldlog.normalizedArguments(["--data", "/srv/x", "hub", "init", "--name", "高唐县"])
        )
    }
}

/// What a cadre reads: one sentence with what to do, no library internals or dumps.
@Suite struct PlainErrorTests {
    /// `fieldlog key` shows the public key again (no passphrase needed); an export into a missing
    /// folder says so (it printed an NSCocoaErrorDomain dump); options go before the command too.
    @Test func keysFoldersAndOptionsSpeakPlainly() async throws {
        let folder = CLI.temporaryFolder("plain")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let device = CLI(home: folder + "/device")
        let created = try await device.ok(["init", "--json"]).json as? [String: String]
        let shown = try await device.run(["key", "--json"], passphrase: nil)
        #expect(shown.status == 0)
        #expect((shown.json as? [String: String])?["publicKey"] == created?["publicKey"])
        #expect(try await device.run(["key"], passphrase: nil).stdout.contains(created?["fingerprint"] ?? "?"))
        let hub = CLI(home: folder + "/hub")
        try await hub.ok(["--data", folder + "/hub", "hub", "init", "--name", "高唐县"])
        let export = try await hub.run(["export", "ledger", "--out", folder + "/no/such/folder/台账.csv"])
        #expect(export.status == 1)
        #expect(
            export.stderr.contains("does not exist") && !export.stderr.contains("NSCocoaErrorDomain"),
            "\(export.stderr)"
        )
        let status = try await hub.ok(["--json", "status"]).json as? [String: Any]
        #expect(status?["role"] as? String == "operator")
    }
}

/// Issue 14: the ledger's errors name values, not flags; the CLI names each by its option from one
/// table, and every option that table names is one a command takes.
@Suite struct CLIFieldTests {
    /// The help of every fieldlog command.
    static let helps: [String] = {
        func walk(_ command: any ParsableCommand.Type) -> [String] {
            let subcommands = command.configuration.subcommands
            return [Fieldlog.helpMessage(for: command)] + subcommands.flatMap(walk)
        }
        return walk(Fieldlog.self)
    }()

    @Test func everyFieldTheLedgerNamesHasAnOptionTheCLITakes() throws {
        for field in LedgerError.Field.allCases {
            let option = CLIField.option(field)
            let flag = String(option.split(separator: " ")[0])
            #expect(flag.hasPrefix("--"), "\(field)")
            #expect(
                Self.helps.contains { $0.contains(flag) },
                "\(field) is named \(flag), which no fieldlog command takes"
            )
        }
        let error = LedgerError(.missingField, "assign needs \(field: .lead) (the lead department)")
        #expect(error.field == .lead)
        #expect(error.message(naming: { _ in "牵头单位" }) == "assign needs 牵头单位 (the lead department)")
        #expect(CLIField.message(error) == "assign needs --lead DEPARTMENT (the lead department)")
    }

    /// Each workflow verb takes the options of its own step, and refuses a step without one it
    /// always needs before anything is opened.
    @Test func eachWorkflowVerbTakesItsOwnOptions() throws {
        let sign = DemandCommand.Sign.helpMessage()
        #expect(sign.contains("--contacted") && !sign.contains("--lead") && !sign.contains("--milestones"))
        let assign = DemandCommand.Assign.helpMessage()
        #expect(assign.contains("--lead") && assign.contains("--co") && !assign.contains("--resolved"))
        #expect(throws: (any Error).self) { try Fieldlog.parseAsRoot(["demand", "sign", "GT-1", "--lead", "x"]) }
        let missing = #expect(throws: (any Error).self) { try Fieldlog.parseAsRoot(["demand", "assign", "GT-1"]) }
        #expect(Fieldlog.message(for: missing!).contains("--lead DEPARTMENT"))
        #expect(Fieldlog.exitCode(for: missing!) == .failure)
        _ = try Fieldlog.parseAsRoot(["demand", "assign", "GT-1", "--lead", "县市场监管局", "--co", "县税务局"])
        #expect(throws: (any Error).self) { try Fieldlog.parseAsRoot(["demand", "settle", "GT-1", "--comment", "x"]) }
    }
}
