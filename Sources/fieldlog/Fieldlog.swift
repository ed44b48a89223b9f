import ArgumentParser
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
            Init.self, CountyCommand.self, RegistryCommand.self, Join.self, VisitCommand.self, DemandCommand.self, CalendarCommand.self, ExportCommand.self, RatesCommand.self,
            History.self, Conflicts.self, BundleCommand.self, EnrollCommand.self, SyncCommand.self, PeerServe.self, HubCommand.self, Status.self,
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
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as LedgerError {
            fail(error.message)
        } catch let error as StoreError {
            fail(error.message)
        } catch let error as CryptoError {
            fail(error.message)
        } catch let error as CLIError {
            fail(error.message)
        } catch let error as SyncError {
            fail(error.message)
        } catch let error as ExportError {
            fail(error.message)
        } catch {
            exit(withError: error)
        }
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
