import ArgumentParser
import FieldCore
import FieldCrypto
import FieldExport
import FieldLedger
import FieldStore
import FieldSync
import Foundation
import Logging

@main
struct Fieldlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldlog",
        abstract: "Offline-first ledger of enterprise visits and demands (企业服务日走访与诉求台账).",
        discussion: """
            Your data folder is $FIELDLOG_HOME, or --data, or ~/.local/share/fieldlog.
            The key passphrase comes from $FIELDLOG_PASSPHRASE, or is asked for.
            Start with `fieldlog init`.
            """,
        subcommands: [
            Init.self, KeyCommand.self, CountyCommand.self, RegistryCommand.self, Join.self, VisitCommand.self,
            DemandCommand.self, CalendarCommand.self, ExportCommand.self, RatesCommand.self,
            History.self, Conflicts.self, BundleCommand.self, EnrollCommand.self, SyncCommand.self, PeerServe.self,
            HubCommand.self, FederationCommand.self, Status.self, Check.self, UICommand.self,
        ]
    )

    /// Runs the command, printing errors as one sentence and exiting non-zero.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["FIELDLOG_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        do {
            var command = try parseAsRoot(Self.normalizedArguments(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as LedgerError {
            fail(CLIField.message(error))
        } catch let error as any FieldlogError {
            fail(error.message)
        } catch let error as CocoaError {
            // A file the command reads or writes: the path and the reason, not Foundation's dump.
            let path =
                (error.userInfo[NSFilePathErrorKey] as? String) ?? error.errorUserInfo[NSFilePathErrorKey] as? String
            fail(
                "\(path ?? "a file") could not be read or written (\(error.code == .fileNoSuchFile || error.code == .fileReadNoSuchFile ? "no such file or folder" : "refused")); check the path and that this user may use it"
            )
        } catch {
            // A check of the command line (a `validate()` refusing a missing option) that is not a
            // usage error reads like every other refusal: one sentence, exit status 1.
            let message = message(for: error)
            if exitCode(for: error) == .failure, !message.isEmpty, !message.contains("Usage:") {
                fail(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            }
            exit(withError: error)
        }
    }

    /// The arguments with the options every command takes (`--data DIR`, `--json`) moved from
    /// before the command's name to after it, so that `fieldlog --data DIR hub init` works as
    /// `fieldlog hub init --data DIR` does (docs/operations.md once showed the first form, which
    /// failed).
    static func normalizedArguments(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" || argument.hasPrefix("--data=") {
                moved.append(argument)
                index += 1
            } else if argument == "--data", index + 1 < arguments.count {
                moved += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        let rest = Array(arguments[index...])
        guard !moved.isEmpty, let first = rest.first, !first.hasPrefix("-") else { return arguments }
        return rest + moved
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("fieldlog: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// An error of the command line itself.
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension CLIError: FieldlogError {
    var codeName: String { "usage" }
}
