import Foundation
import Testing

/// Issue 14: the domain (Sources/FieldLedger/Domain: workflow, overlays, rates, calendar, deadline
/// profile, vocabulary, policy rules) holds no storage: no file there imports GRDB or writes SQL;
/// every SQL statement of the ledger is in its storage part (Sources/FieldLedger/Storage); and no
/// client of the ledger reads the engine's own `_` tables.
@Suite struct LayeringTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    static func swiftFiles(in folder: URL) throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        return (enumerator?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "swift" }
    }

    @Test func theDomainImportsNoStorage() throws {
        let domain = try Self.swiftFiles(in: Self.sources.appendingPathComponent("FieldLedger/Domain"))
        #expect(domain.count >= 10, "the domain folder moved?")
        for file in domain {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("import GRDB"), "\(file.lastPathComponent) imports GRDB")
            #expect(!text.contains("SELECT "), "\(file.lastPathComponent) holds SQL")
        }
    }

    @Test func onlyTheStoragePartHoldsSQL() throws {
        let ledger = Self.sources.appendingPathComponent("FieldLedger")
        let files = try Self.swiftFiles(in: ledger)
        let storage = files.filter { $0.deletingLastPathComponent().lastPathComponent == "Storage" }
        #expect(storage.count >= 5, "the storage folder moved?")
        #expect(
            storage.contains { (try? String(contentsOf: $0, encoding: .utf8))?.contains("FetchableRecord") == true },
            "the storage part reads rows into records"
        )
        for file in files where !storage.contains(file) {
            let text = try String(contentsOf: file, encoding: .utf8)
            let name = file.path.replacingOccurrences(of: ledger.path + "/", with: "")
            #expect(!text.contains("import GRDB"), "\(name) imports GRDB")
            for sql in ["sql:", "SELECT ", "INSERT ", "DELETE FROM", "UPDATE "] {
                #expect(!text.contains(sql), "\(name) holds SQL (\(sql))")
            }
        }
    }

    @Test func noClientReadsTheEnginesOwnTables() throws {
        for module in ["FieldLedger", "FieldSync", "FieldExport", "fieldlog"] {
            for file in try Self.swiftFiles(in: Self.sources.appendingPathComponent(module)) {
                let text = try String(contentsOf: file, encoding: .utf8)
                for table in ["_conflicts", "_versions", "_commits", "_feeds", "_meta", "_log", "_forks", "_tombs"] {
                    #expect(!text.contains("FROM \(table)"), "\(module)/\(file.lastPathComponent) reads \(table)")
                }
            }
        }
        for file in try Self.swiftFiles(in: Self.sources.appendingPathComponent("fieldlog")) {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("ledger.replica"), "fieldlog/\(file.lastPathComponent) reaches into the engine")
        }
    }
}
