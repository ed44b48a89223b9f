import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create this device's key (encrypted with a passphrase) and show its fingerprint."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        if FileManager.default.fileExists(atPath: global.keyPath) {
            throw CLIError("\(global.folder) already has a device key; use another --data folder for a second identity")
        }
        let passphrase = try Passphrase.read(prompt: "Choose a passphrase for this device's key: ", confirm: true)
        let key = SigningKey.generate()
        try KeyFile.write(key, passphrase: passphrase, to: global.keyPath, parameters: try kdfParameters())
        if global.json {
            try global.printJSON([
                "publicKey": key.publicKey.hex, "fingerprint": key.publicKey.fingerprint, "keyFile": global.keyPath,
            ])
            return
        }
        print("已生成本机设备密钥：\(global.keyPath)")
        print("  公钥：    \(key.publicKey.hex)")
        print("  指纹：    \(key.publicKey.fingerprint)")
        print("下一步：把公钥交给县级运维登记，再用登记包运行 `fieldlog join FILE`（或用登记码 `fieldlog enroll --hub URL --code CODE`）。")
        print("（运维人员的机器上改为运行 `fieldlog county create --name 县名`。）")
    }
}

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Show this device's public key and fingerprint (no passphrase needed), e.g. to have it enrolled."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        guard FileManager.default.fileExists(atPath: global.keyPath) else {
            throw CLIError("no device key in \(global.folder) yet; create one with `fieldlog init`")
        }
        let key = try global.publicKey()
        if global.json {
            try global.printJSON(["publicKey": key.hex, "fingerprint": key.fingerprint, "keyFile": global.keyPath])
            return
        }
        print("公钥 (public key)：  \(key.hex)")
        print("指纹 (fingerprint)： \(key.fingerprint)")
    }
}

struct CountyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "county",
        abstract: "The county's operator replica.",
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make this device the county operator: its key becomes the county's root key."
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The county's name, e.g. 高唐县.") var name: String

        func run() throws {
            guard !global.hasReplica else {
                throw CLIError("\(global.replicaPath) already exists; this device already belongs to a county")
            }
            let key = try global.signingKey()
            let ledger = try Ledger.open(path: global.replicaPath, root: key.publicKey, key: key)
            try ledger.setCountyName(name)
            if global.json {
                try global.printJSON([
                    "county": name, "rootKey": key.publicKey.hex, "rootFingerprint": key.publicKey.fingerprint,
                ])
                return
            }
            print("Created county \(name). This device holds its root key.")
            print("  root key:         \(key.publicKey.hex)")
            print("  root fingerprint: \(key.publicKey.fingerprint)   (cadres compare this when they join)")
            print("Next: `fieldlog registry import departments|cadres|enterprises|linkages FILE.csv`.")
        }
    }
}

struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the county from an enrollment bundle the operator exported."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The enrollment bundle file.") var bundle: String
    @Option(help: "The county root fingerprint the operator told you; the join stops if it differs.")
    var rootFingerprint: String?

    func run() throws {
        guard !global.hasReplica else {
            throw CLIError("this device already belongs to a county (\(global.replicaPath))")
        }
        let publicKey = try global.publicKey()
        let records = try CommitBundle.open(bundle)
        var root: PublicKey?
        for record in records {
            let commit = try WireRecord.decode(record).commit
            guard commit.scope == Commit.registryScope else { continue }
            if let root, root != commit.author {
                throw CLIError(
                    "\(bundle) holds registry commits from two different keys; ask the operator for a new bundle"
                )
            }
            root = commit.author
        }
        guard let root else { throw CLIError("\(bundle) holds no registry commits; it is not an enrollment bundle") }
        if let expected = rootFingerprint {
            guard expected.lowercased() == root.fingerprint else {
                throw CLIError(
                    "the bundle's county root fingerprint is \(root.fingerprint), not \(expected); do not use this bundle, ask the operator"
                )
            }
        } else {
            guard isatty(STDIN_FILENO) == 1 else {
                throw CLIError(
                    "the bundle's county root fingerprint is \(root.fingerprint); compare it with the operator's and pass --root-fingerprint \(root.fingerprint)"
                )
            }
            print("本县根密钥指纹：\(root.fingerprint)")
            print("与运维人员告知的指纹一致吗？[y/N] ", terminator: "")
            guard let answer = readLine(), answer.lowercased().hasPrefix("y") else { throw CLIError("not joined") }
        }
        let ledger = try Ledger.open(path: global.replicaPath, root: root, publicKey: publicKey, signer: nil)
        let report = try ledger.importRecords(records)
        let role = try ledger.enrolledRole()
        if global.json {
            try global.printJSON(JoinResult(rootFingerprint: root.fingerprint, role: role?.rawValue, report: report))
            return
        }
        print("已加入本县（根密钥指纹 \(root.fingerprint)）；\(report.chineseSummary)。")
        if let role {
            print("本设备已登记，角色：\(role.plain)。")
        } else {
            print("本设备尚未登记：请运维人员登记公钥 \(publicKey.hex)，再导入其发来的新包（`fieldlog bundle import`）。")
        }
    }

    struct JoinResult: Encodable {
        var rootFingerprint: String
        var role: String?
        var report: ImportReport
    }
}

#if canImport(Glibc)
import Glibc
#endif
