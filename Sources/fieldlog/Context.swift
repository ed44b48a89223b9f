import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The data folder (default: $FIELDLOG_HOME or ~/.local/share/fieldlog).")
    var data: String?

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    var folder: String {
        if let data { return (data as NSString).standardizingPath }
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["FIELDLOG_HOME"], !home.isEmpty { return home }
        let base =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/share")
        return base + "/fieldlog"
    }

    var keyPath: String { folder + "/keys/device.key" }
    var replicaPath: String { folder + "/replica.sqlite" }

    var hasReplica: Bool { FileManager.default.fileExists(atPath: replicaPath) }

    /// The device's public key (no passphrase needed).
    func publicKey() throws -> PublicKey {
        try KeyFile.publicKey(at: keyPath)
    }

    /// The device's signing key, unlocked with the passphrase.
    func signingKey() throws -> SigningKey {
        let key = try KeyFile.read(
            from: keyPath,
            passphrase: try Passphrase.read(prompt: "Passphrase for \(keyPath): ")
        )
        return key
    }

    /// Opens the ledger; with `write`, unlocks the key.
    /// - Parameter followsStore: with `$FIELDLOG_STORE` set and the root key writing, the ledger
    ///   follows the shared store first and appends its writes there (`SharedHubReplica`); false
    ///   for a command that writes no commits (an enrollment code).
    func ledger(write: Bool, batchSize: Int? = nil, followsStore: Bool = true) throws -> Ledger {
        guard FileManager.default.fileExists(atPath: keyPath) else {
            throw CLIError("no device key in \(folder); run `fieldlog init` first (or pass --data)")
        }
        guard hasReplica else {
            throw CLIError(
                "this device has not joined a county yet; run `fieldlog join ENROLLMENT.bundle` (or `fieldlog county create` on the operator's machine)"
            )
        }
        let publicKey = try publicKey()
        let signer = write ? try signingKey() : nil
        var options = ReplicaOptions()
        if let batchSize, batchSize > 0 { options.batchSize = batchSize }
        if let text = ProcessInfo.processInfo.environment["FIELDLOG_MAX_DRIFT_MINUTES"] {
            guard let minutes = UInt64(text), minutes > 0 else {
                throw CLIError("FIELDLOG_MAX_DRIFT_MINUTES must be a whole number of minutes, not \(text)")
            }
            options.maxFutureDrift = minutes * 60 * 1000
        }
        let ledger = try Ledger.open(
            path: replicaPath,
            root: nil,
            publicKey: publicKey,
            signer: signer,
            options: options,
            profile: try profile()
        )
        if followsStore, let signer, ledger.isRoot, let url = SharedHubReplica.environmentStore {
            return try SharedHubReplica.operatorLedger(
                self,
                publicKey: publicKey,
                signer: signer,
                options: options,
                url: url
            )
        }
        return ledger
    }

    /// The deadline profile: `profile.json` in the data folder if there is one, else Shandong "2115".
    func profile() throws -> DeadlineProfile {
        let path = folder + "/profile.json"
        guard let data = FileManager.default.contents(atPath: path) else { return .shandong2115 }
        do {
            return try DeadlineProfile.load(json: data)
        } catch {
            throw CLIError("\(path): \(error.message); fix or remove it")
        }
    }

    /// Prints a value as pretty JSON with sorted keys.
    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Reads the key passphrase from the environment or the terminal.
enum Passphrase {
    static func read(prompt: String, confirm: Bool = false) throws -> String {
        if let value = ProcessInfo.processInfo.environment["FIELDLOG_PASSPHRASE"] {
            guard !value.isEmpty else { throw CLIError("FIELDLOG_PASSPHRASE is set but empty; set a passphrase") }
            return value
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("no passphrase: set FIELDLOG_PASSPHRASE, or run this command in a terminal to type it")
        }
        guard let raw = getpass(prompt) else { throw CLIError("could not read the passphrase from the terminal") }
        let first = String(cString: raw)
        guard !first.isEmpty else { throw CLIError("the passphrase cannot be empty") }
        if confirm {
            guard let again = getpass("Type it again: "), String(cString: again) == first else {
                throw CLIError("the two passphrases differ; run the command again")
            }
        }
        return first
    }
}

/// Key-derivation cost for new key files: FIELDLOG_KDF=minimum (tests only), interactive (default) or moderate.
func kdfParameters() throws -> KeyFile.Parameters {
    switch ProcessInfo.processInfo.environment["FIELDLOG_KDF"] ?? "interactive" {
    case "interactive": return .interactive
    case "moderate": return .moderate
    case "minimum": return .minimum
    case let other: throw CLIError("FIELDLOG_KDF=\(other) is not one of interactive, moderate, minimum")
    }
}

extension Value {
    /// Parses a value typed on the command line: integers stay integers, everything else is text.
    static func typed(_ text: String) -> Value {
        if let int = Int64(text) { return .integer(int) }
        if text == "NULL" { return .null }
        return .text(text)
    }
}

/// Writes a file whole (a temporary file renamed into place), or says in one sentence why it
/// cannot: a missing export folder once printed a Foundation error dump.
func writeFile(_ bytes: [UInt8], to path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    var isFolder: ObjCBool = false
    let target = folder.isEmpty ? "." : folder
    guard FileManager.default.fileExists(atPath: target, isDirectory: &isFolder), isFolder.boolValue else {
        throw CLIError("the folder \(target) does not exist; create it, or write to another --out")
    }
    guard FileManager.default.isWritableFile(atPath: target) else {
        throw CLIError("the folder \(target) cannot be written by this user; choose another --out")
    }
    do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw CLIError(
            "\(path) could not be written (is the disk full, or is the file open in another program?); try again or choose another --out"
        )
    }
}
